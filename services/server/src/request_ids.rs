//! Request ids: unique per request and cheap to make, for finding one request in the logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes the `x-request-id` of a request that came without one: a number drawn at random once
/// per process, then a counter scrambled by a bijection keyed per process, written as a UUID
/// (8-4-4-4-12 hex digits). Ids stay unique across processes and restarts (64 random bits,
/// and distinct counts give distinct ids) without asking the operating system for randomness
/// on every request, which a random UUID per request did (a system call each). Scrambled, the
/// id echoed to whoever sent the request does not tell how many requests the process served.
#[derive(Debug, Clone)]
pub struct MakeRequestIds {
    ids: Arc<Ids>,
}

#[derive(Debug)]
struct Ids {
    process: u64,
    scramble: u64,
    next: AtomicU64,
}

impl MakeRequestIds {
    pub fn new() -> Self {
        Self::starting_at(rand::random(), rand::random(), 0)
    }

    fn starting_at(process: u64, scramble: u64, next: u64) -> Self {
        Self {
            ids: Arc::new(Ids {
                process,
                scramble,
                next: AtomicU64::new(next),
            }),
        }
    }

    /// Hex digits and dashes are always a valid header value; were one refused, the request
    /// would go without an id rather than fail.
    fn next_id(&self) -> Option<HeaderValue> {
        let count = self.ids.next.fetch_add(1, Ordering::Relaxed);
        let scrambled = scrambled(count, self.ids.scramble);
        let value = (u128::from(self.ids.process) << 64) | u128::from(scrambled);
        HeaderValue::from_bytes(&uuid_shaped(value)).ok()
    }
}

impl Default for MakeRequestIds {
    fn default() -> Self {
        Self::new()
    }
}

impl MakeRequestId for MakeRequestIds {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        self.next_id().map(RequestId::new)
    }
}

/// SplitMix64's finaliser after adding `key`: every step (adding, shifting a value's high bits
/// into its low ones with xor, multiplying by an odd number) can be undone, so distinct counts
/// stay distinct.
fn scrambled(count: u64, key: u64) -> u64 {
    let mut z = count.wrapping_add(key);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// `value` as 32 lower-case hex digits in the groups of a UUID.
fn uuid_shaped(value: u128) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut digit = 0;
    for (at, byte) in out.iter_mut().enumerate() {
        if matches!(at, 8 | 13 | 18 | 23) {
            continue;
        }
        let shift = 124 - 4 * digit;
        *byte = HEX[((value >> shift) & 0xf) as usize];
        digit += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuid_shaped_start_with_the_process_number_and_never_repeat() {
        let ids = MakeRequestIds::starting_at(0x0123_4567_89ab_cdef, 42, 0);
        let made: Vec<String> = (0..10_000)
            .map(|_| {
                let id = ids.next_id().expect("an id");
                id.to_str().expect("ascii").to_owned()
            })
            .collect();
        for id in &made {
            assert_eq!(id.len(), 36);
            assert!(id.starts_with("01234567-89ab-cdef-"), "{id}");
            assert!(
                id.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()),
                "{id}"
            );
        }
        let distinct: std::collections::HashSet<&String> = made.iter().collect();
        assert_eq!(distinct.len(), made.len());
    }

    #[test]
    fn the_count_does_not_show() {
        let ids = MakeRequestIds::starting_at(0, 42, 0);
        let first = ids.next_id().expect("an id");
        let second = ids.next_id().expect("an id");
        assert_ne!(first, "00000000-0000-0000-0000-000000000000");
        assert_ne!(second, "00000000-0000-0000-0000-000000000001");
        // Consecutive counts differ in many digits, not in the last one.
        let differing = first
            .as_bytes()
            .iter()
            .zip(second.as_bytes())
            .filter(|(a, b)| a != b)
            .count();
        assert!(differing > 4, "{first:?} {second:?}");
    }

    #[test]
    fn two_processes_make_different_ids() {
        let (one, other) = (MakeRequestIds::new(), MakeRequestIds::new());
        assert_ne!(one.next_id(), other.next_id());
    }

    #[test]
    fn clones_share_one_counter() {
        let mut one = MakeRequestIds::new();
        let mut other = one.clone();
        let request = Request::new(());
        let first = one.make_request_id(&request).expect("an id");
        let second = other.make_request_id(&request).expect("an id");
        assert_ne!(first.header_value(), second.header_value());
    }
}
