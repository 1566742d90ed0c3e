//! Helpers for the context tests: real git repositories in temp dirs, made
//! with the `git` command line, and events pointing into them.
#![allow(dead_code, unreachable_pub)]

use std::path::Path;
use std::process::Command;

use bugstack_core::{Event, EventKind, Frame, Level, Location, Timestamp};
use bugstack_fix::Incident;

/// A git repository in a temp dir.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repo { dir };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.name", "Test"]);
        repo.git(&["config", "user.email", "test@example.invalid"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo.git(&["config", "tag.gpgsign", "false"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .arg("-C")
            .arg(self.dir.path())
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn write(&self, path: &str, text: &str) {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    /// Commits everything and returns the commit id.
    pub fn commit(&self, msg: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
        self.git(&["rev-parse", "HEAD"])
    }
}

pub fn frame(function: &str, file: &str, line: u32, in_app: bool) -> Frame {
    Frame {
        function: Some(function.to_string()),
        module: function.rsplit_once("::").map(|(m, _)| m.to_string()),
        file: Some(file.to_string()),
        line: Some(line),
        column: Some(5),
        in_app,
        address: None,
    }
}

pub fn std_frames() -> Vec<Frame> {
    vec![
        frame(
            "std::panicking::begin_panic_handler",
            "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/std/src/panicking.rs",
            665,
            false,
        ),
        frame(
            "core::option::unwrap_failed",
            "/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/option.rs",
            2015,
            false,
        ),
    ]
}

pub fn incident(message: &str, location: Option<(&str, u32)>, frames: Vec<Frame>, release: Option<&str>) -> Incident {
    let mut event = Event::new(
        EventKind::Panic,
        Level::Fatal,
        message,
        Timestamp::from_millis(1_700_000_000_000),
    );
    event.location = location.map(|(file, line)| Location {
        file: file.to_string(),
        line,
        column: Some(9),
    });
    event.frames = frames;
    event.release = release.map(str::to_string);
    Incident::from_event("1", event)
}

/// 1-based line of the first line of `text` containing `needle`.
pub fn line_of(text: &str, needle: &str) -> u32 {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in text")) as u32
        + 1
}
