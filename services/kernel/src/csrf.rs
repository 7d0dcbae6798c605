//! Protection against forged forms: a random token in a host-only cookie that every form
//! carries back in a hidden field (`CsrfForm` checks it, in constant time); and, as second
//! and third lines behind it, the browser's own word on where a form comes from
//! (`Sec-Fetch-Site`, and `Origin` when it is sent).

use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponseParts, ResponseParts};
use http::header::SET_COOKIE;
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::cookies::{SameSite, SetCookie, cookie};
use crate::error::AppError;
use crate::state::AppState;
use crate::tokens::SecretToken;

pub const CSRF_COOKIE: &str = "sp_csrf";
/// The hidden form field that carries the token.
pub const CSRF_FIELD: &str = "csrf";

/// The form token for a page that shows a form. A school page's frame makes it (its menu has a
/// form too) and hands a browser that had no token yet the cookie with the page; a handler
/// only puts the token in its forms. A browser without a token gets a new one only when the
/// page asks for it: a page without a form (a visitor's home page) sets no cookie and makes
/// no random token.
#[derive(Debug, Clone)]
pub struct Csrf(Arc<Held>);

#[derive(Debug)]
struct Held {
    /// The token the browser sent, if it sent one.
    kept: Option<SecretToken>,
    /// The new token, made when a page first asks for it.
    made: OnceLock<SecretToken>,
    secure: bool,
}

impl Csrf {
    pub fn token(&self) -> &str {
        match &self.0.kept {
            Some(token) => token.expose(),
            None => self.0.made.get_or_init(SecretToken::generate).expose(),
        }
    }

    /// The token this browser holds, or a new one to hand it when a page asks for one.
    pub fn from_headers(headers: &http::HeaderMap, state: &AppState) -> Self {
        Csrf(Arc::new(Held {
            kept: cookie(headers, CSRF_COOKIE).and_then(SecretToken::parse),
            made: OnceLock::new(),
            secure: state.config.accounts.secure_cookies,
        }))
    }

    /// The new token a page put in its forms, which the browser must get as its cookie.
    fn handed_out(&self) -> Option<&SecretToken> {
        match self.0.kept {
            Some(_) => None,
            None => self.0.made.get(),
        }
    }
}

impl FromRequestParts<AppState> for Csrf {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        // The page's frame made the token already when the browser had none (its menu has a
        // form too): one token per page.
        if let Some(csrf) = parts.extensions.get::<Csrf>() {
            return Ok(csrf.clone());
        }
        Ok(Self::from_headers(&parts.headers, state))
    }
}

impl IntoResponseParts for Csrf {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        if let Some(token) = self.handed_out() {
            let cookie = SetCookie {
                name: CSRF_COOKIE,
                value: token.expose().to_owned(),
                domain: None,
                max_age: None,
                secure: self.0.secure,
                same_site: SameSite::Strict,
            };
            res.headers_mut().append(SET_COOKIE, cookie.header_value());
        }
        Ok(res)
    }
}

/// The token a form must carry back, for forms that are not url-encoded (a file upload reads
/// its `csrf` field itself and calls [`CsrfToken::verify`] before reading further).
#[derive(Debug, Clone)]
pub struct CsrfToken {
    expected: Option<SecretToken>,
    cross_site: bool,
}

impl CsrfToken {
    /// Accepts the token sent in the form, or answers "form expired".
    pub fn verify(&self, sent: Option<&str>) -> Result<(), AppError> {
        match (&self.expected, sent) {
            (Some(expected), Some(sent)) if !self.cross_site && expected.matches(sent) => Ok(()),
            _ => Err(AppError::FormExpired),
        }
    }
}

impl FromRequestParts<AppState> for CsrfToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        Ok(Self {
            expected: cookie(&parts.headers, CSRF_COOKIE).and_then(SecretToken::parse),
            cross_site: from_elsewhere(&parts.headers, state),
        })
    }
}

/// Whether the browser says the form comes from another site: `Sec-Fetch-Site: cross-site`,
/// or an `Origin` that is not this host (`null` included). Browsers send `Origin` with every
/// form post; without one, the token alone decides.
fn from_elsewhere(headers: &http::HeaderMap, state: &AppState) -> bool {
    if headers
        .get("sec-fetch-site")
        .is_some_and(|v| v.as_bytes() == b"cross-site")
    {
        return true;
    }
    let Some(origin) = headers.get(http::header::ORIGIN) else {
        return false;
    };
    let source = if state.config.server.trust_forwarded_host {
        tenant_router::HostSource::TrustedProxy
    } else {
        tenant_router::HostSource::Direct
    };
    let Ok(host) = tenant_router::host::request_host(headers, None, source) else {
        return true;
    };
    let authority = |raw: &str| -> Option<(String, Option<u16>)> {
        let (name, port) = match raw.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse::<u16>().ok()?)),
            None => (raw, None),
        };
        let name = tenant_router::NormalizedHost::parse_name(name).ok()?;
        // The default ports are the same as none.
        Some((
            name.as_str().to_owned(),
            port.filter(|p| *p != 80 && *p != 443),
        ))
    };
    let Some(sent) = origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .filter(|(scheme, _)| matches!(*scheme, "http" | "https"))
        .and_then(|(_, rest)| authority(rest))
    else {
        return true;
    };
    let raw_host = if source == tenant_router::HostSource::TrustedProxy {
        headers
            .get("x-forwarded-host")
            .or_else(|| headers.get(http::header::HOST))
    } else {
        headers.get(http::header::HOST)
    };
    let port = raw_host
        .and_then(|v| v.to_str().ok())
        .and_then(authority)
        .and_then(|(_, port)| port);
    sent != (host.as_str().to_owned(), port)
}

/// A submitted form whose token matches the cookie, parsed into `T`. A missing or wrong token
/// is a 403 "form expired" page; a field that does not fit `T` is a 400 naming the field.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, AppError> {
        let (parts, body) = request.into_parts();
        // Browsers say when a request comes from another site; such a form is never ours.
        if from_elsewhere(&parts.headers, state) {
            return Err(AppError::FormExpired);
        }
        let expected = cookie(&parts.headers, CSRF_COOKIE).and_then(SecretToken::parse);
        let bytes = axum::body::Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AppError::bad_request("form", "error.form_unreadable"))?;
        let sent = form_urlencoded::parse(&bytes)
            .find(|(key, _)| key == CSRF_FIELD)
            .map(|(_, value)| value.into_owned());
        match (expected, sent) {
            (Some(expected), Some(sent)) if expected.matches(&sent) => {}
            _ => return Err(AppError::FormExpired),
        }
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(&bytes));
        serde_path_to_error::deserialize(deserializer)
            .map(CsrfForm)
            .map_err(|error| AppError::bad_request(field_of(&error), "error.form_field_invalid"))
    }
}

/// The form field a parse error is about. A missing field is reported at the form's level,
/// with serde naming it in the message ("missing field `password`").
fn field_of(error: &serde_path_to_error::Error<serde_urlencoded::de::Error>) -> String {
    let path = error.path().to_string();
    if path != "." {
        return path;
    }
    let message = error.inner().to_string();
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
        .map_or_else(|| "form".to_owned(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::field_of;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct SignIn {
        email: String,
        password: String,
        keep: Option<bool>,
    }

    fn field(body: &[u8]) -> String {
        let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(body));
        field_of(&serde_path_to_error::deserialize::<_, SignIn>(deserializer).unwrap_err())
    }

    #[test]
    fn parse_errors_name_the_field() {
        assert_eq!(field(b"email=a"), "password");
        assert_eq!(field(b"password=a"), "email");
        assert_eq!(field(b"email=a&password=b&keep=maybe"), "keep");
    }
}
