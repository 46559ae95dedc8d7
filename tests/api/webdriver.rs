//! A minimal W3C WebDriver client over the test's own `reqwest`, driving Debian's
//! `chromedriver` and headless `chromium`. Small on purpose: the handful of
//! commands the browser test needs, no extra dependency, no browser download.
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// W3C element reference key.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver with one browser session; both end on drop.
pub struct Browser {
    http: reqwest::Client,
    base: String,
    session: String,
    child: Child,
    _profile: tempfile::TempDir,
}

/// A found element.
#[derive(Clone, Debug)]
pub struct El(String);

fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for n in names {
            let p = dir.join(n);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The chromedriver and chromium binaries, when installed.
pub fn installed() -> Option<(PathBuf, PathBuf)> {
    Some((
        which(&["chromedriver"])?,
        which(&["chromium", "chromium-browser", "google-chrome"])?,
    ))
}

impl Browser {
    /// Starts chromedriver on a free loopback port and opens one headless session.
    pub async fn start(downloads: &Path) -> Browser {
        let (driver, chromium) = installed().expect(
            "the browser tests need chromium and chromedriver: apt-get install -y chromium chromium-driver",
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // Its own process group: the browser it starts joins it, so ending the
        // group ends every browser process even when a test panics.
        let child = Command::new(driver)
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        // Waiting for a process to start listening is real time, not logical time.
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{base}/status")).send().await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": chromium.to_string_lossy(),
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--ignore-certificate-errors",
                    "--window-size=1280,900",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {
                    "download.default_directory": downloads.to_string_lossy(),
                    "download.prompt_for_download": false,
                },
            },
        }}});
        let r: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("new session failed: {r}"))
            .to_string();
        let b = Browser {
            http,
            base,
            session,
            child,
            _profile: profile,
        };
        // Headless Chromium saves downloads only when told where.
        b.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": "Browser.setDownloadBehavior",
                   "params": {"behavior": "allow", "downloadPath": downloads.to_string_lossy()}}),
        )
        .await;
        b
    }

    async fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let r: Value = req
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        if let Some(err) = r["value"].get("error") {
            return Err(format!("{err}: {}", r["value"]["message"]));
        }
        Ok(r["value"].clone())
    }

    async fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        match self.try_cmd(method, path, body).await {
            Ok(v) => v,
            Err(e) => panic!("webdriver {method} {path}: {e}"),
        }
    }

    /// Opens a URL and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({"url": url})).await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        self.cmd("GET", "/url", json!({}))
            .await
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The first element matching a CSS selector (panics when none).
    pub async fn find(&self, css: &str) -> El {
        let v = self
            .cmd(
                "POST",
                "/element",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        El(v[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("find {css}: {v}"))
            .to_string())
    }

    /// Every element matching a CSS selector.
    pub async fn find_all(&self, css: &str) -> Vec<El> {
        let v = self
            .cmd(
                "POST",
                "/elements",
                json!({"using": "css selector", "value": css}),
            )
            .await;
        v.as_array()
            .unwrap()
            .iter()
            .map(|e| El(e[ELEMENT].as_str().unwrap().to_string()))
            .collect()
    }

    /// Types into an element.
    pub async fn type_into(&self, css: &str, text: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{}/clear", el.0), json!({}))
            .await;
        self.cmd(
            "POST",
            &format!("/element/{}/value", el.0),
            json!({"text": text}),
        )
        .await;
    }

    /// Clicks an element that loads a new page, and waits until it has loaded.
    pub async fn click(&self, css: &str) {
        self.js("window.__cvOldPage = true; return null;").await;
        self.click_stay(css).await;
        self.wait_for(
            "return window.__cvOldPage !== true && document.readyState === 'complete';",
            &format!("the page after clicking {css}"),
        )
        .await;
    }

    /// Clicks an element without waiting for a new page (downloads, scripts).
    pub async fn click_stay(&self, css: &str) {
        let el = self.find(css).await;
        self.cmd("POST", &format!("/element/{}/click", el.0), json!({}))
            .await;
    }

    /// Presses keys on the focused element (W3C `Enter` is U+E007).
    pub async fn keys(&self, css: &str, keys: &str) {
        let el = self.find(css).await;
        self.cmd(
            "POST",
            &format!("/element/{}/value", el.0),
            json!({"text": keys}),
        )
        .await;
    }

    /// Presses a key (W3C key value: Tab is U+E004, Enter U+E007) on whatever
    /// has the focus, as a keyboard user would.
    pub async fn press(&self, key: char) {
        let k = key.to_string();
        self.cmd(
            "POST",
            "/actions",
            json!({"actions": [{"type": "key", "id": "keyboard", "actions": [
                {"type": "keyDown", "value": k}, {"type": "keyUp", "value": k}]}]}),
        )
        .await;
    }

    /// A short description of the focused element (`tag#id.class`).
    pub async fn focused(&self) -> String {
        self.js("const e = document.activeElement; return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className ? '.' + e.className : '');")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The visible text of the page's body.
    pub async fn text(&self) -> String {
        self.js("return document.body ? document.body.innerText : '';")
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs a script in the page and returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// Runs an async script (its last argument is the callback to call with the
    /// result) and returns the value it was called with.
    pub async fn js_async(&self, script: &str) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({"script": script, "args": []}),
        )
        .await
    }

    /// A Chrome DevTools protocol command (e.g. `WebAuthn.addVirtualAuthenticator`).
    pub async fn cdp(&self, cmd: &str, params: Value) -> Value {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await
    }

    /// Polls a script until it returns true (real time: the page's own script runs
    /// asynchronously in the browser).
    pub async fn wait_for(&self, script: &str, what: &str) {
        let started = Instant::now();
        let body = json!({"script": script, "args": []});
        while self.try_cmd("POST", "/execute/sync", body.clone()).await != Ok(Value::Bool(true)) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Emulates a phone's viewport (CSS pixels, touch, mobile layout), or the
    /// desktop window again with `None`.
    pub async fn phone(&self, size: Option<(u32, u32)>) {
        let (cmd, params) = match size {
            Some((w, h)) => (
                "Emulation.setDeviceMetricsOverride",
                json!({"width": w, "height": h, "deviceScaleFactor": 1, "mobile": true}),
            ),
            None => ("Emulation.clearDeviceMetricsOverride", json!({})),
        };
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": cmd, "params": params}),
        )
        .await;
    }

    /// Saves a PNG screenshot of the whole page, however long.
    pub async fn screenshot(&self, path: &Path) {
        let dims = self
            .js("return [document.documentElement.clientWidth, document.documentElement.scrollHeight];")
            .await;
        let (w, h) = (dims[0].as_f64().unwrap(), dims[1].as_f64().unwrap());
        let v = self
            .cmd(
                "POST",
                "/goog/cdp/execute",
                json!({"cmd": "Page.captureScreenshot",
                       "params": {"format": "png", "captureBeyondViewport": true,
                                  "clip": {"x": 0, "y": 0, "width": w, "height": h, "scale": 1}}}),
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v["data"].as_str().unwrap())
            .unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }

    /// Ends the browser session and chromedriver.
    pub async fn quit(self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        // Drop ends the process group.
    }

    /// Forgets every cookie (the next visitor starts signed out).
    pub async fn clear_cookies(&self) {
        self.cmd("DELETE", "/cookie", json!({})).await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads its own process group (see `start`); the browser and
        // its helpers are in it. Killing only chromedriver would orphan them.
        if let Some(pid) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.wait();
    }
}
