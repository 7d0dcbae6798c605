//! A small HTTP client with a cookie jar that follows the browser's domain rules closely
//! enough for sign-in tests: host-only cookies, `Domain=` cookies for every host under it,
//! and `Max-Age=0` deleting. Forms carry the host's form token, as the pages' hidden field does.

use std::net::SocketAddr;

use crate::http::{RawResponse, request};

#[derive(Debug, Clone)]
struct StoredCookie {
    name: String,
    value: String,
    /// `Some(domain)` for a `Domain=` cookie; `None` with `host` for a host-only one.
    domain: Option<String>,
    host: String,
}

/// One browser's worth of cookies, talking to one server address.
#[derive(Debug, Clone)]
pub struct Client {
    addr: SocketAddr,
    cookies: Vec<StoredCookie>,
    pub user_agent: String,
    /// Sent with every request (`Accept-Language`, `X-Forwarded-For`, …).
    pub extra_headers: Vec<(String, String)>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            cookies: Vec::new(),
            user_agent: "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0".to_owned(),
            extra_headers: Vec::new(),
        }
    }

    /// The same cookies, sent to another server (another process of the same deployment).
    pub fn retarget(&mut self, addr: SocketAddr) {
        self.addr = addr;
    }

    fn cookie_header(&self, host: &str) -> String {
        self.cookies
            .iter()
            .filter(|c| match &c.domain {
                Some(domain) => host == domain || host.ends_with(&format!(".{domain}")),
                None => c.host == host,
            })
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The value of a cookie this client would send to `host`.
    pub fn cookie(&self, host: &str, name: &str) -> Option<String> {
        self.cookie_header(host)
            .split("; ")
            .filter_map(|pair| pair.split_once('='))
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.to_owned())
    }

    /// Sets a cookie by hand (to plant a stolen or forged value in a test).
    pub fn set_cookie(&mut self, host: &str, name: &str, value: &str) {
        self.store(host, &format!("{name}={value}; Path=/"));
    }

    fn store(&mut self, host: &str, set_cookie: &str) {
        let mut parts = set_cookie.split(';').map(str::trim);
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let mut domain = None;
        let mut delete = false;
        for attribute in parts {
            let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
            match key.to_ascii_lowercase().as_str() {
                "domain" => domain = Some(val.trim_start_matches('.').to_ascii_lowercase()),
                "max-age" => delete = val.parse::<i64>().is_ok_and(|v| v <= 0),
                _ => {}
            }
        }
        self.cookies.retain(|c| {
            !(c.name == name && c.domain == domain && (domain.is_some() || c.host == host))
        });
        if !delete {
            self.cookies.push(StoredCookie {
                name: name.to_owned(),
                value: value.to_owned(),
                domain,
                host: host.to_owned(),
            });
        }
    }

    async fn send(
        &mut self,
        method: &str,
        host: &str,
        path: &str,
        body: Option<(&str, &[u8])>,
    ) -> RawResponse {
        let cookies = self.cookie_header(host);
        let mut headers = vec![("User-Agent", self.user_agent.clone())];
        headers.extend(
            self.extra_headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.clone())),
        );
        if !cookies.is_empty() {
            headers.push(("Cookie", cookies));
        }
        if let Some((content_type, _)) = body {
            headers.push(("Content-Type", content_type.to_owned()));
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = request(
            self.addr,
            method,
            host,
            path,
            &headers,
            body.map(|(_, b)| b),
        )
        .await
        .expect("response");
        for (name, value) in &response.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                self.store(host, value);
            }
        }
        response
    }

    pub async fn get(&mut self, host: &str, path: &str) -> RawResponse {
        self.send("GET", host, path, None).await
    }

    /// Posts a form with the host's form token added (fetch a page with a form first).
    pub async fn post_form(
        &mut self,
        host: &str,
        path: &str,
        fields: &[(&str, &str)],
    ) -> RawResponse {
        let token = self.cookie(host, "sp_csrf").unwrap_or_default();
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(host, path, &encode_form(&all)).await
    }

    /// Posts exactly these bytes as a form.
    pub async fn post_raw(&mut self, host: &str, path: &str, body: &str) -> RawResponse {
        self.send(
            "POST",
            host,
            path,
            Some(("application/x-www-form-urlencoded", body.as_bytes())),
        )
        .await
    }

    /// Uploads a file as a browser's `multipart/form-data` form does: the host's form token
    /// first (unless `token` says otherwise), then the file in the field `file`.
    pub async fn post_file(
        &mut self,
        host: &str,
        path: &str,
        file_name: &str,
        bytes: &[u8],
        token: Option<&str>,
    ) -> RawResponse {
        self.post_file_as(host, path, "file", file_name, bytes, token)
            .await
    }

    /// As [`post_file`](Self::post_file), with the file in the form field `field`.
    pub async fn post_file_as(
        &mut self,
        host: &str,
        path: &str,
        field: &str,
        file_name: &str,
        bytes: &[u8],
        token: Option<&str>,
    ) -> RawResponse {
        let boundary = "----schoolplein-test-boundary-7d1f";
        let token = match token {
            Some(token) => token.to_owned(),
            None => self.cookie(host, "sp_csrf").unwrap_or_default(),
        };
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send("POST", host, path, Some((&content_type, &body)))
            .await
    }

    /// Uploads several files in one form, as a file input with `multiple` does: the host's
    /// form token first, then each file in the field `field`.
    pub async fn post_files(
        &mut self,
        host: &str,
        path: &str,
        field: &str,
        files: &[(&str, &[u8])],
    ) -> RawResponse {
        let boundary = "----schoolplein-test-boundary-3c9a";
        let token = self.cookie(host, "sp_csrf").unwrap_or_default();
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n"
        )
        .into_bytes();
        for (file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send("POST", host, path, Some((&content_type, &body)))
            .await
    }

    /// Posts a form as a browser's `multipart/form-data` does: the host's form token first,
    /// then the text `fields`, then `files` as `(field, file name, bytes)` (an empty name and
    /// no bytes is what a browser sends for a file field left empty).
    pub async fn post_multipart(
        &mut self,
        host: &str,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
    ) -> RawResponse {
        let boundary = "----schoolplein-test-boundary-5e2b";
        let token = self.cookie(host, "sp_csrf").unwrap_or_default();
        let mut body = Vec::new();
        for (name, value) in std::iter::once(&("csrf", token.as_str())).chain(fields) {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        for (field, file_name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let content_type = format!("multipart/form-data; boundary={boundary}");
        self.send("POST", host, path, Some((&content_type, &body)))
            .await
    }

    /// Fetches the sign-in page (for its form token) and signs in.
    pub async fn sign_in(
        &mut self,
        host: &str,
        email: &str,
        password: &str,
        keep: bool,
    ) -> RawResponse {
        self.get(host, "/sign-in").await;
        let mut fields = vec![("email", email), ("password", password)];
        if keep {
            fields.push(("keep", "1"));
        }
        self.post_form(host, "/sign-in", &fields).await
    }
}

/// `application/x-www-form-urlencoded`.
pub fn encode_form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
