//! Request ids: unique per request and cheap to make, for finding one request in the logs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use http::{HeaderValue, Request};
use tower_http::request_id::{MakeRequestId, RequestId};

/// Makes the `x-request-id` of a request that came without one: a number drawn at random once
/// per process, then a counter, written as a UUID (8-4-4-4-12 hex digits). Ids stay unique
/// across processes and restarts (64 random bits) without asking the operating system for
/// randomness on every request, which a random UUID per request did (a system call each).
/// They are not secret and need not be: the id is echoed to whoever sent the request.
#[derive(Debug, Clone)]
pub struct MakeRequestIds {
    ids: Arc<Ids>,
}

#[derive(Debug)]
struct Ids {
    process: u64,
    next: AtomicU64,
}

impl MakeRequestIds {
    pub fn new() -> Self {
        Self::starting_at(rand::random(), 0)
    }

    fn starting_at(process: u64, next: u64) -> Self {
        Self {
            ids: Arc::new(Ids {
                process,
                next: AtomicU64::new(next),
            }),
        }
    }

    /// Hex digits and dashes are always a valid header value; were one refused, the request
    /// would go without an id rather than fail.
    fn next_id(&self) -> Option<HeaderValue> {
        let count = self.ids.next.fetch_add(1, Ordering::Relaxed);
        let value = (u128::from(self.ids.process) << 64) | u128::from(count);
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
    fn ids_are_uuid_shaped_and_count_up_from_the_process_number() {
        let ids = MakeRequestIds::starting_at(0x0123_4567_89ab_cdef, 0xfffe);
        let next = || ids.next_id().expect("an id");
        assert_eq!(next(), "01234567-89ab-cdef-0000-00000000fffe");
        assert_eq!(next(), "01234567-89ab-cdef-0000-00000000ffff");
        assert_eq!(next(), "01234567-89ab-cdef-0000-000000010000");
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
