//! The checks' sandbox: every check (and regression-test run) of a
//! candidate runs inside [bubblewrap](https://github.com/containers/bubblewrap)
//! on Linux, because a patch's code is steerable by whoever sent the event.
//!
//! Inside:
//! - **no network**: a network namespace with only its own loopback
//!   (dependencies are fetched once on the base, outside, with `cargo
//!   fetch`; cargo then runs with `CARGO_NET_OFFLINE=true`);
//! - **a read-only file system** except the worktree, the shared target
//!   directory and a private `/tmp`; `/run` (service sockets), `HOME` and the
//!   paths in [`SandboxSpec::hidden`] are replaced by empty directories, with
//!   only the toolchain (`RUSTUP_HOME`, `CARGO_HOME`, `PATH` entries) and
//!   the directories outside the repository that its manifests name (path
//!   dependencies and their workspaces, see `path_deps`) bound back,
//!   read-only;
//! - **no capabilities**, its own PID, IPC and UTS namespaces, killed with
//!   its parent;
//! - **an environment reduced to an allowlist** ([`ENV_ALLOWLIST`],
//!   [`ENV_PREFIXES`]): `PATH`, locale and toolchain variables; never
//!   bugstack's tokens or a registry token;
//! - **limits**: address space per process and processes per user
//!   (`prlimit`; a root user is exempt from the process limit), and the
//!   check's timeout, which kills the whole sandbox.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::process::CommandLine;

/// Variables passed into the sandbox when set.
pub(super) const ENV_ALLOWLIST: &[&str] = &[
    "PATH",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "RUSTUP_TOOLCHAIN",
    "RUSTC",
    "RUSTDOC",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_INCREMENTAL",
    "CC",
    "CXX",
    "AR",
    "CFLAGS",
    "CXXFLAGS",
    "LDFLAGS",
    "PKG_CONFIG_PATH",
];

/// Prefixes of variables passed into the sandbox (`CARGO_PROFILE_DEV_DEBUG`,
/// `RUST_BACKTRACE`, `CARGO_TERM_COLOR`).
pub(super) const ENV_PREFIXES: &[&str] = &["RUST_", "CARGO_BUILD_", "CARGO_PROFILE_", "CARGO_TERM_"];

/// Resource limits of a sandboxed check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxLimits {
    /// Address space of each process, in bytes (`RLIMIT_AS`).
    pub address_space: u64,
    /// Processes (and threads) of the user (`RLIMIT_NPROC`).
    pub processes: u64,
    /// Size of any one file written, in bytes (`RLIMIT_FSIZE`).
    pub file_size: u64,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        SandboxLimits {
            address_space: 16 << 30,
            processes: 8192,
            file_size: 8 << 30,
        }
    }
}

/// Where the checks of one validation ran, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxReport {
    /// `bubblewrap`, or `none`.
    pub kind: String,
    /// Why there is none, or what the sandbox allowed.
    pub detail: String,
}

impl SandboxReport {
    /// Whether the checks ran confined.
    pub fn confined(&self) -> bool {
        self.kind != "none"
    }
}

/// A sandbox that can start here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Bubblewrap {
    bwrap: PathBuf,
    prlimit: Option<PathBuf>,
}

/// What one sandboxed command may see.
#[derive(Debug, Clone)]
pub(super) struct SandboxSpec<'a> {
    /// Directories bound read-write (the worktree, the target directory).
    pub writable: &'a [&'a Path],
    /// Directories replaced by empty ones (bugstack's data directory).
    pub hidden: &'a [PathBuf],
    /// Directories bound back read-only over the hidden ones (the
    /// repository's outside path dependencies).
    pub readable: &'a [PathBuf],
    /// Variables set inside (after the allowlist).
    pub env: &'a [(OsString, OsString)],
    /// Working directory inside.
    pub dir: &'a Path,
    /// Resource limits.
    pub limits: SandboxLimits,
}

impl Bubblewrap {
    /// Finds `bwrap` and checks that it can start a sandbox with every
    /// namespace here; the reason when it cannot.
    pub(super) async fn detect() -> std::result::Result<Bubblewrap, String> {
        let Some(bwrap) = find_program("bwrap") else {
            return Err("bubblewrap (`bwrap`) is not installed (Debian/Ubuntu: apt-get install bubblewrap)".into());
        };
        let out = tokio::process::Command::new(&bwrap)
            .args([
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--unshare-all",
                "--cap-drop",
                "ALL",
                "--die-with-parent",
                "--",
                "true",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", bwrap.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} cannot start a sandbox here: {}",
                bwrap.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Bubblewrap {
            bwrap,
            prlimit: find_program("prlimit"),
        })
    }

    /// A one-line description for the report.
    pub(super) fn describe(&self) -> String {
        format!(
            "{}: no network, read-only system, empty HOME, allowlisted environment{}",
            self.bwrap.display(),
            if self.prlimit.is_some() {
                ", memory and process limits"
            } else {
                " (no `prlimit`: no memory or process limits)"
            }
        )
    }

    /// `command` wrapped to run inside the sandbox.
    pub(super) fn wrap(&self, command: &CommandLine, spec: &SandboxSpec<'_>) -> CommandLine {
        let mut a: Vec<String> = vec![self.bwrap.to_string_lossy().into_owned()];
        let mut push = |items: &[&str]| a.extend(items.iter().map(|s| s.to_string()));
        push(&["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]);
        for dir in EMPTIED_SYSTEM_DIRS {
            push(&["--tmpfs", dir]);
        }
        let home = home_dir();
        let toolchain = toolchain_dirs(home.as_deref());
        let mut hidden: Vec<PathBuf> = home.iter().cloned().collect();
        hidden.extend(spec.hidden.iter().filter(|p| p.is_absolute()).cloned());
        for h in &hidden {
            if h.is_dir() && h.parent().is_some() {
                let h = h.to_string_lossy();
                push(&["--tmpfs", &h]);
            }
        }
        for dir in toolchain.iter().filter(|d| hidden.iter().any(|h| d.starts_with(h))) {
            if dir.exists() {
                let d = dir.to_string_lossy();
                push(&["--ro-bind", &d, &d]);
            }
        }
        for r in spec.readable.iter().filter(|r| r.is_absolute() && r.exists()) {
            let r = r.to_string_lossy();
            push(&["--ro-bind", &r, &r]);
        }
        for w in spec.writable {
            let w = w.to_string_lossy();
            push(&["--bind", &w, &w]);
        }
        push(&[
            "--unshare-all",
            "--cap-drop",
            "ALL",
            "--die-with-parent",
            "--new-session",
            "--clearenv",
        ]);
        for (k, v) in sandbox_env(home.as_deref(), &toolchain, spec.env) {
            a.extend(["--setenv".to_string(), k, v]);
        }
        a.extend([
            "--chdir".to_string(),
            spec.dir.to_string_lossy().into_owned(),
            "--".into(),
        ]);
        if let Some(prlimit) = &self.prlimit {
            a.push(prlimit.to_string_lossy().into_owned());
            a.push(format!("--as={}", spec.limits.address_space));
            a.push(format!("--nproc={}", spec.limits.processes));
            a.push(format!("--fsize={}", spec.limits.file_size));
            a.push("--".into());
        }
        match command {
            CommandLine::Shell(s) => a.extend(["sh".to_string(), "-c".into(), s.clone()]),
            CommandLine::Argv(argv) => a.extend(argv.iter().cloned()),
        }
        CommandLine::Argv(a)
    }
}

/// The directories a sandbox replaces with empty ones, `hidden` among
/// them: a directory holding one of these is never bound back.
pub(super) fn hidden_roots(hidden: &[PathBuf]) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = EMPTIED_SYSTEM_DIRS.iter().map(PathBuf::from).collect();
    roots.extend(home_dir());
    roots.extend(hidden.iter().filter(|p| p.is_absolute()).cloned());
    roots
}

/// System directories every sandbox replaces with empty ones (a private
/// `/tmp`; `/run` holds service sockets).
const EMPTIED_SYSTEM_DIRS: [&str; 3] = ["/tmp", "/var/tmp", "/run"];

/// `HOME`, when it is an absolute path (the sandbox empties it).
fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from).filter(|h| h.is_absolute())
}

/// The toolchain's directories: `RUSTUP_HOME`, `CARGO_HOME` (defaults under
/// `HOME`) and every `PATH` entry.
fn toolchain_dirs(home: Option<&Path>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for (var, default) in [("RUSTUP_HOME", ".rustup"), ("CARGO_HOME", ".cargo")] {
        match std::env::var_os(var) {
            Some(v) => dirs.push(PathBuf::from(v)),
            None => dirs.extend(home.map(|h| h.join(default))),
        }
    }
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path).filter(|p| p.is_absolute()));
    }
    dirs
}

/// The allowlisted environment, with `HOME`, `RUSTUP_HOME`, `CARGO_HOME`
/// explicit (an empty `HOME` would hide rustup's defaults), offline cargo,
/// then `extra`.
fn sandbox_env(home: Option<&Path>, toolchain: &[PathBuf], extra: &[(OsString, OsString)]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| ENV_ALLOWLIST.contains(&k.as_str()) || ENV_PREFIXES.iter().any(|p| k.starts_with(p)))
        .collect();
    if let Some(h) = home {
        env.push(("HOME".into(), h.to_string_lossy().into_owned()));
    }
    for (name, dir) in ["RUSTUP_HOME", "CARGO_HOME"].iter().zip(toolchain) {
        env.push((name.to_string(), dir.to_string_lossy().into_owned()));
    }
    env.push(("CARGO_NET_OFFLINE".into(), "true".into()));
    env.push(("TMPDIR".into(), "/tmp".into()));
    for (k, v) in extra {
        env.push((k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()));
    }
    env
}

/// `name` on `PATH`.
pub(super) fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_command_is_confined_and_keeps_the_toolchain() {
        let bw = Bubblewrap {
            bwrap: "/usr/bin/bwrap".into(),
            prlimit: Some("/usr/bin/prlimit".into()),
        };
        let wt = Path::new("/tmp/wt");
        let spec = SandboxSpec {
            writable: &[wt],
            hidden: &[PathBuf::from("/srv/bugstack-data")],
            readable: &[],
            env: &[("CARGO_TARGET_DIR".into(), "/tmp/t".into())],
            dir: wt,
            limits: SandboxLimits::default(),
        };
        let CommandLine::Argv(argv) = bw.wrap(&CommandLine::Shell("cargo test".into()), &spec) else {
            panic!("argv expected");
        };
        let joined = argv.join(" ");
        for needle in [
            "--unshare-all",
            "--cap-drop ALL",
            "--clearenv",
            "--bind /tmp/wt /tmp/wt",
            "--tmpfs /run",
            "--setenv CARGO_NET_OFFLINE true",
            "--setenv CARGO_TARGET_DIR /tmp/t",
            "--nproc=8192",
            "sh -c cargo test",
        ] {
            assert!(joined.contains(needle), "{needle} missing in {joined}");
        }
        assert!(!joined.contains("BUGSTACK_TOKEN"));
    }

    #[test]
    fn a_readable_directory_is_bound_back_over_the_hidden_ones() {
        let bw = Bubblewrap {
            bwrap: "/usr/bin/bwrap".into(),
            prlimit: None,
        };
        let hidden = tempfile::tempdir().unwrap();
        let lib = hidden.path().join("lib");
        std::fs::create_dir(&lib).unwrap();
        let wt = Path::new("/tmp/wt");
        let spec = SandboxSpec {
            writable: &[wt],
            hidden: &[hidden.path().to_path_buf()],
            readable: &[lib.clone(), PathBuf::from("relative")],
            env: &[],
            dir: wt,
            limits: SandboxLimits::default(),
        };
        let CommandLine::Argv(argv) = bw.wrap(&CommandLine::Shell("cargo test".into()), &spec) else {
            panic!("argv expected");
        };
        let joined = argv.join(" ");
        let at = |needle: &str| {
            joined
                .find(needle)
                .unwrap_or_else(|| panic!("{needle} missing in {joined}"))
        };
        let hide = at(&format!("--tmpfs {}", hidden.path().display()));
        let show = at(&format!("--ro-bind {0} {0}", lib.display()));
        assert!(hide < show && show < at("--bind /tmp/wt /tmp/wt"), "{joined}");
        assert!(!joined.contains("relative"), "{joined}");
    }
}
