//! Host header normalisation: one canonical, lower-case, ASCII host name per request.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use http::HeaderMap;
use http::header::HOST;

/// Longest raw Host value we look at; anything longer is refused before any parsing.
pub const MAX_RAW_HOST_LEN: usize = 1024;
/// Longest host name DNS allows, in its ASCII form.
pub const MAX_HOST_LEN: usize = 253;
const MAX_LABEL_LEN: usize = 63;

/// Why a request's host could not be understood. Every variant is the client's fault (a 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HostError {
    #[error("the request names no host")]
    Missing,
    #[error("the request names more than one host")]
    Ambiguous,
    #[error("the host is too long")]
    TooLong,
    #[error("the host is not a valid domain name")]
    Malformed,
    #[error("the port is not a number from 1 to 65535")]
    BadPort,
}

/// A host name as the rest of the system sees it: lower case, ASCII (IDNA), no port, no
/// trailing dot. IP literals are kept (IPv6 in brackets) so they can be told apart.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NormalizedHost(String);

impl NormalizedHost {
    /// Parses a raw Host (or `:authority`) value, with or without a port.
    pub fn parse(raw: &[u8]) -> Result<Self, HostError> {
        if raw.len() > MAX_RAW_HOST_LEN {
            return Err(HostError::TooLong);
        }
        let text = std::str::from_utf8(raw).map_err(|_| HostError::Malformed)?;
        let text = text.trim_matches(|c: char| c == ' ' || c == '\t');
        if text.is_empty() {
            return Err(HostError::Missing);
        }
        if let Some(rest) = text.strip_prefix('[') {
            return parse_ipv6_literal(rest);
        }
        let name = match text.rsplit_once(':') {
            Some((name, port)) => {
                check_port(port)?;
                name
            }
            None => text,
        };
        Self::parse_name(name)
    }

    /// Parses a host name that carries no port (configuration, CLI arguments).
    pub fn parse_name(name: &str) -> Result<Self, HostError> {
        if name.len() > MAX_RAW_HOST_LEN {
            return Err(HostError::TooLong);
        }
        // One trailing dot is the fully-qualified form of the same name.
        let name = name.strip_suffix('.').unwrap_or(name);
        if name.is_empty() || name.contains(':') {
            return Err(HostError::Malformed);
        }
        if name.parse::<Ipv4Addr>().is_ok() {
            return Ok(Self(name.to_owned()));
        }
        if name.is_ascii() && name.len() > MAX_HOST_LEN {
            return Err(HostError::TooLong);
        }
        // Nearly every request names a plain lower-case host, which IDNA maps to itself:
        // skip the mapping then (punycode labels still go through it, to be validated).
        let plain = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && !name.split('.').any(|label| label.starts_with("xn--"));
        let ascii = if plain {
            name.to_owned()
        } else {
            idna::domain_to_ascii_strict(name).map_err(|_| HostError::Malformed)?
        };
        if ascii.is_empty() {
            return Err(HostError::Malformed);
        }
        if ascii.len() > MAX_HOST_LEN {
            return Err(HostError::TooLong);
        }
        let labels_ok = ascii.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= MAX_LABEL_LEN
                && !label.starts_with('-')
                && !label.ends_with('-')
                && (label.starts_with("xn--") || label.get(2..4) != Some("--"))
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
        if !labels_ok {
            return Err(HostError::Malformed);
        }
        Ok(Self(ascii))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for `127.0.0.1` and `[::1]`-style hosts, which never name a school.
    pub fn is_ip_literal(&self) -> bool {
        self.0.starts_with('[') || self.0.parse::<Ipv4Addr>().is_ok()
    }

    /// The part before `.<parent>`, when this host lies directly or deeper under `parent`.
    pub fn strip_parent(&self, parent: &NormalizedHost) -> Option<&str> {
        let prefix = self.0.strip_suffix(parent.as_str())?;
        prefix.strip_suffix('.').filter(|p| !p.is_empty())
    }
}

fn parse_ipv6_literal(rest: &str) -> Result<NormalizedHost, HostError> {
    let (address, after) = rest.split_once(']').ok_or(HostError::Malformed)?;
    let address: Ipv6Addr = address.parse().map_err(|_| HostError::Malformed)?;
    match after {
        "" => {}
        _ => check_port(after.strip_prefix(':').ok_or(HostError::Malformed)?)?,
    }
    Ok(NormalizedHost(format!("[{address}]")))
}

fn check_port(port: &str) -> Result<(), HostError> {
    let valid = (1..=5).contains(&port.len())
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p));
    if valid {
        Ok(())
    } else {
        Err(HostError::BadPort)
    }
}

impl fmt::Display for NormalizedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for NormalizedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NormalizedHost({})", self.0)
    }
}

/// Where the host of a request comes from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HostSource {
    /// Only the `Host` header (or the HTTP/2 `:authority`).
    #[default]
    Direct,
    /// A proxy we trust sets `X-Forwarded-Host`; it wins over `Host` when present.
    TrustedProxy,
}

const X_FORWARDED_HOST: &str = "x-forwarded-host";

/// Reads the request's host from its headers (and URI authority for HTTP/2).
pub fn request_host(
    headers: &HeaderMap,
    uri_authority: Option<&str>,
    source: HostSource,
) -> Result<NormalizedHost, HostError> {
    if source == HostSource::TrustedProxy {
        let mut forwarded = headers.get_all(X_FORWARDED_HOST).iter();
        if let Some(value) = forwarded.next() {
            if forwarded.next().is_some() {
                return Err(HostError::Ambiguous);
            }
            // A chain of proxies appends; the last entry is the one our own proxy wrote.
            let bytes = value.as_bytes();
            let last = bytes.rsplit(|&b| b == b',').next().unwrap_or(bytes);
            return NormalizedHost::parse(last);
        }
    }
    let mut hosts = headers.get_all(HOST).iter();
    match (hosts.next(), hosts.next()) {
        (Some(_), Some(_)) => Err(HostError::Ambiguous),
        (Some(value), None) => NormalizedHost::parse(value.as_bytes()),
        (None, _) => match uri_authority {
            Some(authority) => NormalizedHost::parse(authority.as_bytes()),
            None => Err(HostError::Missing),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn parse(raw: &str) -> Result<String, HostError> {
        NormalizedHost::parse(raw.as_bytes()).map(|h| h.0)
    }

    #[test]
    fn lower_cases_and_strips_port_and_trailing_dot() {
        assert_eq!(
            parse("DeKlimop.SchoolPlein.NL:443").unwrap(),
            "deklimop.schoolplein.nl"
        );
        assert_eq!(
            parse("deklimop.schoolplein.nl.").unwrap(),
            "deklimop.schoolplein.nl"
        );
        assert_eq!(parse("demo.localhost.:8080").unwrap(), "demo.localhost");
        assert_eq!(parse("  demo.localhost ").unwrap(), "demo.localhost");
    }

    #[test]
    fn converts_unicode_to_punycode() {
        assert_eq!(parse("École.Example").unwrap(), "xn--cole-9oa.example");
        assert_eq!(
            parse("xn--cole-9oa.example").unwrap(),
            "xn--cole-9oa.example"
        );
    }

    #[test]
    fn keeps_ip_literals() {
        assert_eq!(parse("127.0.0.1:8080").unwrap(), "127.0.0.1");
        assert_eq!(parse("[::1]:8080").unwrap(), "[::1]");
        assert!(NormalizedHost::parse(b"[::1]").unwrap().is_ip_literal());
    }

    #[test]
    fn refuses_what_is_not_a_host() {
        for bad in [
            "a..b",
            ".",
            "..",
            "a b",
            "a_b.example",
            "exa<mple",
            "host:",
            "host:0",
            "host:65536",
            "host:8o",
            "host:1:2",
            "[::1",
            "[zz]",
            "[::1]x",
            "::1",
            "-a.example",
            "a-.example",
            "münchen..de",
            "\u{200b}",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert_eq!(parse(""), Err(HostError::Missing));
        assert_eq!(parse("   "), Err(HostError::Missing));
        assert_eq!(parse(&"a".repeat(2000)), Err(HostError::TooLong));
        assert_eq!(
            parse(&format!("{}.nl", "a".repeat(64))),
            Err(HostError::Malformed)
        );
        let long = vec!["abcdefghi"; 30].join(".");
        assert_eq!(parse(&long), Err(HostError::TooLong));
        assert_eq!(
            NormalizedHost::parse(&[0xff, 0xfe]),
            Err(HostError::Malformed)
        );
    }

    #[test]
    fn the_plain_ascii_shortcut_agrees_with_idna() {
        use rand::Rng;
        let alphabet = b"abz09-.";
        let mut rng = rand::rng();
        for _ in 0..20_000 {
            let len = rng.random_range(1..24);
            let name: String = (0..len)
                .map(|_| alphabet[rng.random_range(0..alphabet.len())] as char)
                .collect();
            let ours = NormalizedHost::parse_name(&name).map(|h| h.0);
            let trimmed = name.strip_suffix('.').unwrap_or(&name);
            let reference = idna::domain_to_ascii_strict(trimmed).ok().filter(|a| {
                !a.is_empty()
                    && a.split('.')
                        .all(|l| !l.is_empty() && l.len() <= MAX_LABEL_LEN)
            });
            match reference {
                Some(expected) if trimmed.parse::<Ipv4Addr>().is_err() => {
                    assert_eq!(ours.as_deref(), Ok(expected.as_str()), "{name:?}")
                }
                Some(_) => {}
                None => assert!(ours.is_err(), "{name:?} accepted as {ours:?}"),
            }
        }
    }

    #[test]
    fn strip_parent_finds_the_label_before_the_base() {
        let base = NormalizedHost::parse_name("schoolplein.nl").unwrap();
        let host = NormalizedHost::parse_name("deklimop.schoolplein.nl").unwrap();
        assert_eq!(host.strip_parent(&base), Some("deklimop"));
        assert_eq!(base.strip_parent(&base), None);
        let other = NormalizedHost::parse_name("evilschoolplein.nl").unwrap();
        assert_eq!(other.strip_parent(&base), None);
    }

    #[test]
    fn several_host_headers_are_ambiguous() {
        let mut headers = HeaderMap::new();
        headers.append(HOST, HeaderValue::from_static("a.example"));
        headers.append(HOST, HeaderValue::from_static("b.example"));
        assert_eq!(
            request_host(&headers, None, HostSource::Direct),
            Err(HostError::Ambiguous)
        );
    }

    #[test]
    fn forwarded_host_only_counts_behind_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("internal:8080"));
        headers.insert(
            X_FORWARDED_HOST,
            HeaderValue::from_static("evil.example, demo.example"),
        );
        let direct = request_host(&headers, None, HostSource::Direct).unwrap();
        assert_eq!(direct.as_str(), "internal");
        let proxied = request_host(&headers, None, HostSource::TrustedProxy).unwrap();
        assert_eq!(proxied.as_str(), "demo.example");
    }

    #[test]
    fn falls_back_to_the_uri_authority() {
        let headers = HeaderMap::new();
        let host = request_host(&headers, Some("Demo.Example:443"), HostSource::Direct).unwrap();
        assert_eq!(host.as_str(), "demo.example");
        assert_eq!(
            request_host(&headers, None, HostSource::Direct),
            Err(HostError::Missing)
        );
    }
}
