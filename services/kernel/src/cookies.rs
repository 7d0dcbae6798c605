//! Reading cookies from a request and writing `Set-Cookie` with the flags every cookie needs.

use std::time::Duration;

use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

/// The value of the first cookie called `name`, if the request sent one.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    cookies(headers, name).next()
}

/// Every value of the cookies called `name`: a browser sends several when cookies with the
/// same name were set for this host and for its parent domain.
pub fn cookies<'a>(headers: &'a HeaderMap, name: &str) -> impl Iterator<Item = &'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(move |(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    Lax,
    Strict,
}

/// A cookie to set: always `HttpOnly` and `Path=/`.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: &'static str,
    pub value: String,
    /// `Domain=`: set for a cookie shared by every school under a base domain; `None` keeps
    /// the cookie on this host alone.
    pub domain: Option<String>,
    /// `None` makes a cookie that ends with the browser session.
    pub max_age: Option<Duration>,
    pub secure: bool,
    pub same_site: SameSite,
}

impl SetCookie {
    /// The same cookie, expired: the browser deletes it.
    pub fn removal(mut self) -> Self {
        self.value = String::new();
        self.max_age = Some(Duration::ZERO);
        self
    }

    pub fn header_value(&self) -> HeaderValue {
        let mut text = format!("{}={}; Path=/; HttpOnly", self.name, self.value);
        if let Some(domain) = &self.domain {
            text.push_str("; Domain=");
            text.push_str(domain);
        }
        if let Some(max_age) = self.max_age {
            text.push_str(&format!("; Max-Age={}", max_age.as_secs()));
        }
        if self.secure {
            text.push_str("; Secure");
        }
        text.push_str(match self.same_site {
            SameSite::Lax => "; SameSite=Lax",
            SameSite::Strict => "; SameSite=Strict",
        });
        // Names are constants and values are base64url or empty, so this cannot fail.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_several_headers_and_pairs() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("a=1; sp_session=abc"));
        headers.append(COOKIE, HeaderValue::from_static("sp_csrf=\"xyz\""));
        assert_eq!(cookie(&headers, "sp_session"), Some("abc"));
        assert_eq!(cookie(&headers, "sp_csrf"), Some("xyz"));
        assert_eq!(cookie(&headers, "sp"), None);
    }

    #[test]
    fn writes_every_flag() {
        let cookie = SetCookie {
            name: "sp_session",
            value: "abc".into(),
            domain: Some("schoolplein.nl".into()),
            max_age: Some(Duration::from_secs(60)),
            secure: true,
            same_site: SameSite::Lax,
        };
        assert_eq!(
            cookie.header_value(),
            "sp_session=abc; Path=/; HttpOnly; Domain=schoolplein.nl; Max-Age=60; Secure; SameSite=Lax"
        );
        assert_eq!(
            cookie.removal().header_value(),
            "sp_session=; Path=/; HttpOnly; Domain=schoolplein.nl; Max-Age=0; Secure; SameSite=Lax"
        );
    }
}
