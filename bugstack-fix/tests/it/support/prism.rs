//! The conformance tests' peer: Stoplight Prism (installed into `.peers/` by
//! `scripts/test-peers.sh`) serving an official OpenAPI description as a
//! validating mock.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `.peers/` folder when Prism is installed there. Without it: `None`,
/// after printing that `what` is skipped, or a panic when `CI` is set (CI
/// must not skip).
pub(crate) fn peers(what: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers");
    if dir.join("node_modules/.bin/prism").exists() {
        return Some(dir);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "CI is set but {} has no Prism: run scripts/test-peers.sh",
            dir.display()
        );
    }
    println!(
        "SKIPPED: {what} needs Prism in {}: run scripts/test-peers.sh",
        dir.display()
    );
    None
}

/// A running Prism; killed (its whole process group) on drop, also when a
/// test fails.
pub(crate) struct Prism {
    child: Child,
    /// Where it listens: `http://127.0.0.1:<port>`.
    pub(crate) url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prism {
    /// Serves `spec` (written to a temp file named `file_name`, whose
    /// extension tells Prism the format) from the Prism in `peers`, on a
    /// free port; returns once anything answers HTTP at `probe_path`.
    /// Blocks (up to 90 s): call it from `spawn_blocking` in async tests.
    pub(crate) fn serve(peers: &Path, file_name: &str, spec: &str, probe_path: &str) -> Prism {
        let dir = tempfile::tempdir().unwrap();
        let spec_file = dir.path().join(file_name);
        std::fs::write(&spec_file, spec).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = dir.path().join("prism.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(peers.join("node_modules/.bin/prism"))
            .args(["mock", "-h", "127.0.0.1", "-p", &port.to_string()])
            .arg(&spec_file)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap();
        let mut prism = Prism {
            child,
            url: format!("http://127.0.0.1:{port}"),
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            if let Some(status) = prism.child.try_wait().unwrap() {
                panic!("prism exited with {status}:\n{}", prism.log_text());
            }
            if answers_http(&format!("{}{probe_path}", prism.url)) {
                return prism;
            }
            assert!(
                Instant::now() < deadline,
                "prism not ready after 90 s:\n{}",
                prism.log_text()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// What Prism has logged so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Whether anything answers HTTP at `url` (a bare TCP + HTTP/1.0 exchange,
/// so readiness polling needs no runtime).
fn answers_http(url: &str) -> bool {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let Ok(mut s) = std::net::TcpStream::connect(host) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}
