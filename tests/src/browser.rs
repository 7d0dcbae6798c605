//! Headless Chromium through Debian's chromedriver, spoken to over the W3C WebDriver protocol
//! with the harness's own small HTTP client.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::process::{Child, Command};

use crate::http;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// How WebDriver names an element in a script's arguments.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One browser session; chromedriver and Chromium stop when it drops.
#[derive(Debug)]
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: TempDir,
}

#[derive(Debug)]
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session.
    pub async fn start() -> Browser {
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
            socket.local_addr().expect("address").port()
        };
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{CHROMEDRIVER} did not start ({e}): scripts/test installs chromium-driver")
            });
        let ready = crate::eventually(Duration::from_secs(20), || async {
            http::get(addr, "127.0.0.1", "/status", &[])
                .await
                .is_ok_and(|r| r.status == 200)
        })
        .await;
        assert!(ready.is_some(), "chromedriver never became ready");
        let profile = TempDir(
            std::env::temp_dir().join(format!("schoolplein-chromium-{}", uuid::Uuid::new_v4())),
        );
        let capabilities = json!({
            "capabilities": { "alwaysMatch": {
                "browserName": "chrome",
                // The console's messages, for `console_errors`.
                "goog:loggingPrefs": { "browser": "ALL" },
                "goog:chromeOptions": {
                    "binary": CHROMIUM,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--disable-dev-shm-usage",
                        format!("--user-data-dir={}", profile.0.display()),
                    ]
                }
            }}
        });
        let mut browser = Browser {
            driver,
            addr,
            session: String::new(),
            _profile: profile,
        };
        let created = browser.call("POST", "/session", Some(capabilities)).await;
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        browser
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, value) = self.answer(method, path, body).await;
        assert!(status < 300, "WebDriver {method} {path} failed: {value}");
        value
    }

    /// A WebDriver call's status and value, whatever the status (an element may go stale
    /// while the next page loads).
    async fn answer(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let body = body.map(|b| b.to_string().into_bytes());
        let response = http::request(
            self.addr,
            method,
            &format!("127.0.0.1:{}", self.addr.port()),
            path,
            &[("Content-Type", "application/json")],
            body.as_deref(),
        )
        .await
        .expect("chromedriver answers");
        let value: Value =
            serde_json::from_slice(&response.body).expect("chromedriver speaks JSON");
        (response.status, value["value"].clone())
    }

    /// Opens a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.call(
            "POST",
            &format!("/session/{}/url", self.session),
            Some(json!({ "url": url })),
        )
        .await;
    }

    /// The WebDriver ids of the elements matching a CSS selector on the page shown now.
    async fn elements(&self, selector: &str) -> Vec<String> {
        let found = self
            .call(
                "POST",
                &format!("/session/{}/elements", self.session),
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        found
            .as_array()
            .map(|all| {
                all.iter()
                    .filter_map(|e| e.as_object()?.values().next()?.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The WebDriver id of the first element matching a CSS selector, waiting up to 10 s for
    /// it to appear (the page after a click may still be on its way).
    async fn element(&self, selector: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(id) = self.elements(selector).await.into_iter().next() {
                return id;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no element matches {selector} on {}",
                self.url().await
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) for an element matching `selector`: after a click, the next page
    /// may still be on its way.
    pub async fn wait_for(&self, selector: &str) {
        self.element(selector).await;
    }

    /// Waits (up to 10 s) until the first element matching `selector` holds `needle` in its
    /// text, and returns that text; the page before a click's answer may still be shown.
    pub async fn wait_for_text(&self, selector: &str, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        let mut last = String::new();
        loop {
            if let Some(id) = self.elements(selector).await.into_iter().next() {
                let path = format!("/session/{}/element/{id}/text", self.session);
                if let (200, text) = self.answer("GET", &path, None).await {
                    last = text.as_str().unwrap_or_default().to_owned();
                    if last.contains(needle) {
                        return last;
                    }
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{selector} never held {needle:?} (last: {last:?})"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (up to 10 s) until the address of the page shown satisfies `check`.
    pub async fn wait_for_url(&self, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if check(&url) {
                return url;
            }
            assert!(tokio::time::Instant::now() < deadline, "stuck at {url}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Types `text` into the field matching `selector` (after clearing it).
    pub async fn fill(&self, selector: &str, text: &str) {
        let id = self.element(selector).await;
        self.call(
            "POST",
            &format!("/session/{}/element/{id}/clear", self.session),
            Some(json!({})),
        )
        .await;
        self.call(
            "POST",
            &format!("/session/{}/element/{id}/value", self.session),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Sets the value of the field matching `selector` directly. Date and time fields take
    /// typed keys in the order of the browser's locale (mm/dd/yyyy, AM/PM); a value set this
    /// way means the same in every locale, and the form sends it as typed input would.
    pub async fn set_value(&self, selector: &str, value: &str) {
        self.run_on(
            selector,
            "arguments[0].value = arguments[1];",
            &[json!(value)],
        )
        .await;
    }

    /// Runs `script` in the page with the first element matching `selector` as
    /// `arguments[0]` and `args` after it, and returns what the script returns.
    pub async fn run_on(&self, selector: &str, script: &str, args: &[Value]) -> Value {
        let id = self.element(selector).await;
        let mut all = vec![json!({ ELEMENT: id })];
        all.extend_from_slice(args);
        self.call(
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            Some(json!({ "script": script, "args": all })),
        )
        .await
    }

    /// Types `keys` into the element matching `selector` as they come, without clearing it
    /// first. WebDriver's key codes work: `\u{E009}` holds Control until `\u{E000}`.
    pub async fn send_keys(&self, selector: &str, keys: &str) {
        let id = self.element(selector).await;
        self.call(
            "POST",
            &format!("/session/{}/element/{id}/value", self.session),
            Some(json!({ "text": keys })),
        )
        .await;
    }

    /// An attribute of the first element matching `selector`, if it has it.
    pub async fn attribute(&self, selector: &str, name: &str) -> Option<String> {
        let id = self.element(selector).await;
        let value = self
            .call(
                "GET",
                &format!("/session/{}/element/{id}/attribute/{name}", self.session),
                None,
            )
            .await;
        value.as_str().map(str::to_owned)
    }

    /// Clicks the element matching `selector` (a link or a form's button) and waits for the
    /// page that follows.
    pub async fn click(&self, selector: &str) {
        let id = self.element(selector).await;
        self.call(
            "POST",
            &format!("/session/{}/element/{id}/click", self.session),
            Some(json!({})),
        )
        .await;
    }

    /// The address of the page shown.
    pub async fn url(&self) -> String {
        let url = self
            .call("GET", &format!("/session/{}/url", self.session), None)
            .await;
        url.as_str().unwrap_or_default().to_owned()
    }

    /// True when an element matches `selector` on the page shown now.
    pub async fn has(&self, selector: &str) -> bool {
        !self.elements(selector).await.is_empty()
    }

    /// The visible text of the first element matching a CSS selector.
    pub async fn text_of(&self, selector: &str) -> String {
        let id = self.element(selector).await;
        let text = self
            .call(
                "GET",
                &format!("/session/{}/element/{id}/text", self.session),
                None,
            )
            .await;
        text.as_str().unwrap_or_default().to_owned()
    }

    /// The cookies the browser holds for the page shown, as `name=value` pairs.
    pub async fn cookies(&self) -> Vec<(String, String)> {
        let all = self
            .call("GET", &format!("/session/{}/cookie", self.session), None)
            .await;
        all.as_array()
            .map(|cookies| {
                cookies
                    .iter()
                    .filter_map(|c| {
                        Some((
                            c["name"].as_str()?.to_owned(),
                            c["value"].as_str()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Sets the window to `width` × `height` CSS pixels: 390 × 844 is a phone, 1280 × 800 a
    /// laptop.
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &format!("/session/{}/window/rect", self.session),
            Some(json!({ "width": width, "height": height })),
        )
        .await;
    }

    /// Whether the page shown fits the window's width: nothing sticks out sideways, so a
    /// phone never scrolls horizontally to read it.
    pub async fn fits_width(&self) -> bool {
        let overflow = self
            .run_on(
                "body",
                "return document.documentElement.scrollWidth - window.innerWidth;",
                &[],
            )
            .await;
        overflow.as_i64().is_some_and(|extra| extra <= 0)
    }

    /// A PNG of the window as it shows the page now.
    pub async fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let png = self
            .call(
                "GET",
                &format!("/session/{}/screenshot", self.session),
                None,
            )
            .await;
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("chromedriver sends base64")
    }

    /// The errors the page's console showed since the last call (a script or a resource that
    /// failed, a refused inline script).
    pub async fn console_errors(&self) -> Vec<String> {
        let log = self
            .call(
                "POST",
                &format!("/session/{}/se/log", self.session),
                Some(json!({ "type": "browser" })),
            )
            .await;
        log.as_array()
            .map(|entries| {
                entries
                    .iter()
                    .filter(|e| e["level"] == "SEVERE")
                    .map(|e| e["message"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The page's violations of axe-core's WCAG 2.1 A and AA rules, one line each: the rule,
    /// what it asks, and the elements that break it. axe-core comes from the file
    /// `SCHOOLPLEIN_AXE_JS` names (scripts/test fetches it from the npm registry).
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let path = std::env::var_os("SCHOOLPLEIN_AXE_JS").expect(
            "SCHOOLPLEIN_AXE_JS: run the tests through scripts/test, which fetches axe-core",
        );
        let source = std::fs::read_to_string(&path).expect("axe.min.js readable");
        self.call(
            "POST",
            &format!("/session/{}/execute/sync", self.session),
            Some(json!({ "script": format!("{source}\nreturn true;"), "args": [] })),
        )
        .await;
        let found = self
            .call(
                "POST",
                &format!("/session/{}/execute/async", self.session),
                Some(json!({
                    "script": "const done = arguments[arguments.length - 1];
                        axe.run(document, { runOnly: { type: 'tag',
                            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                          .then(r => done(r.violations.map(v => v.id + ' (' + v.help + '): '
                              + v.nodes.map(n => n.target.join(' ')).join(', '))))
                          .catch(e => done(['axe failed: ' + e]));",
                    "args": []
                })),
            )
            .await;
        found
            .as_array()
            .map(|lines| {
                lines
                    .iter()
                    .map(|l| l.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Looks at the page at a phone's and a laptop's size: asserts that it fits the width at
    /// both, shows no console errors and breaks no WCAG 2.1 A/AA rule axe-core checks, and
    /// keeps a screenshot of each as `<name>-390.png` and `<name>-1280.png` in the folder
    /// `SCHOOLPLEIN_SCREENSHOTS` names, when it is set (for a person to look at).
    pub async fn look_at(&self, name: &str) {
        let problems = self.problems(name).await;
        assert!(problems.is_empty(), "{problems:#?}");
    }

    /// What [`Browser::look_at`] finds wrong with the page, one line each (empty: nothing).
    pub async fn problems(&self, name: &str) -> Vec<String> {
        let url = self.url().await;
        let mut problems = Vec::new();
        // A form sent back with a mistake answers 400 on purpose; the console notes that
        // for the page itself, which is no error of the page.
        for error in self.console_errors().await {
            if !(error.starts_with(&format!("{url} - ")) && error.contains("status of 400")) {
                problems.push(format!("{url}: console error {error}"));
            }
        }
        // Text escaped twice shows its escapes ("Foto&#x27;s").
        let shown = self
            .run_on("body", "return document.body.innerText;", &[])
            .await;
        let shown = shown.as_str().unwrap_or_default();
        for escape in ["&#x", "&amp;", "&lt;", "&gt;", "&quot;"] {
            if let Some(at) = shown.find(escape) {
                let start = shown[..at]
                    .char_indices()
                    .rev()
                    .nth(20)
                    .map_or(0, |(i, _)| i);
                let end = (at + 30).min(shown.len());
                let end = (end..=shown.len())
                    .find(|&i| shown.is_char_boundary(i))
                    .unwrap_or(shown.len());
                problems.push(format!(
                    "{url} shows escaped text: {:?}",
                    &shown[start..end]
                ));
            }
        }
        for (width, height) in [(390, 844), (1280, 800)] {
            self.resize(width, height).await;
            if !self.fits_width().await {
                problems.push(format!("{url} sticks out sideways at {width} px wide"));
            }
            for violation in self.accessibility_violations().await {
                problems.push(format!("{url} at {width} px: {violation}"));
            }
            if let Some(folder) = std::env::var_os("SCHOOLPLEIN_SCREENSHOTS") {
                let folder = std::path::PathBuf::from(folder);
                std::fs::create_dir_all(&folder).expect("the screenshot folder");
                std::fs::write(
                    folder.join(format!("{name}-{width}.png")),
                    self.screenshot().await,
                )
                .expect("a screenshot written");
            }
        }
        self.resize(1280, 800).await;
        problems
    }

    /// The page's title.
    pub async fn title(&self) -> String {
        let title = self
            .call("GET", &format!("/session/{}/title", self.session), None)
            .await;
        title.as_str().unwrap_or_default().to_owned()
    }

    /// Ends the session and stops the browser.
    pub async fn close(mut self) {
        let _ = http::request(
            self.addr,
            "DELETE",
            &format!("127.0.0.1:{}", self.addr.port()),
            &format!("/session/{}", self.session),
            &[],
            None,
        )
        .await;
        self.session.clear();
        let _ = self.driver.kill().await;
    }
}

impl Drop for Browser {
    /// A test that fails before [`Browser::close`] still ends its session, so that Chromium
    /// quits with it (chromedriver itself is killed on drop, but not the browser it started).
    fn drop(&mut self) {
        use std::io::{Read as _, Write as _};
        if self.session.is_empty() {
            return;
        }
        let Ok(mut stream) =
            std::net::TcpStream::connect_timeout(&self.addr, Duration::from_secs(2))
        else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session,
            self.addr.port()
        );
        if stream.write_all(request.as_bytes()).is_ok() {
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer);
        }
    }
}
