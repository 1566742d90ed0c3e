//! One case through the real product: the buggy release in a git
//! repository with a bare remote, the panic reported by the SDK host to
//! `bugstack serve`, `bugstack fix` on the stored incident, then the
//! proposed branch judged by the case's own reproducer and the crate's suite.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::case::Case;
use crate::check::{self, BUILD_TIMEOUT};
use crate::error::{Error, Result};
use crate::host;
use crate::process::{self, git, shell, Status};
use crate::source::{self, sh_quote, Source};
use crate::Settings;

/// What bugstack did with the case.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HealRun {
    /// `decision.kind` of the fix report: `auto_merge`, `review`, `no_fix`.
    pub decision: String,
    /// `decision.reason`.
    pub reason: String,
    /// The generator of the accepted patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    /// The panic class the generator saw.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix_class: Option<String>,
    /// The confidence score.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// Attempts the pipeline made.
    pub attempts: usize,
    /// The pushed fix branch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Whether the patch carries its own regression test.
    pub has_regression_test: bool,
    /// Whether the fix is proven: its panic reproduced and the
    /// reproduction's test failing on the base and passing with the fix
    /// (the score's `reproduction` signal counted). An unproven fix scores
    /// at most 0.45, and `review_threshold = 0.5` holds it.
    pub proven: bool,
    /// What the fix decides that a maintainer must confirm, when it does:
    /// the value it makes up (the report's `fix.invented_value`) or the
    /// error it borrows (`fix.borrowed_error`). bugstack never auto-merges
    /// such a fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judgement_call: Option<String>,
    /// `+`/`-` lines of the patch outside `tests/` (its non-test source; a
    /// test module inside a source file counts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch_lines: Option<u32>,
    /// The patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// The case's reproducer on the fix branch (for a fix held below the
    /// review threshold: with its patch applied to the base).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repro_on_fix: Option<Status>,
    /// The crate's suite on the fix branch (or with the held patch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite_on_fix: Option<Status>,
    /// Output tail of whatever failed on the fix branch (or the held patch).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// Seconds `bugstack fix` took.
    pub fix_secs: f64,
}

/// bugstack's default `confidence_threshold`, for what `auto_merge = true`
/// would make of a run whose policy leaves it off.
pub const DEFAULT_CONFIDENCE_THRESHOLD: f64 = 0.8;

impl HealRun {
    /// Whether the fix was held only for scoring below the policy's
    /// `review_threshold` (unproven, by default): `review_threshold = 0.0`
    /// would have proposed it. A fix held for another reason (a value made
    /// up after the crate's constructor accepted the input) is held at any
    /// threshold.
    pub fn held_below_threshold(&self) -> bool {
        self.decision == "held" && self.reason.contains("below review_threshold")
    }

    /// Whether the fix heals: the case's reproducer and the crate's suite
    /// pass with it (on its branch, or with a held patch applied).
    pub fn heals(&self) -> bool {
        self.repro_on_fix == Some(Status::Passed) && self.suite_on_fix == Some(Status::Passed)
    }

    /// Why the fix was held and, when it was held below the threshold and
    /// judged with its patch applied to the base, whether that heals.
    pub fn held_detail(&self) -> String {
        match self.repro_on_fix {
            None => self.reason.clone(),
            Some(_) if self.heals() => format!("{}; its patch, applied to the base, heals", self.reason),
            Some(_) => format!(
                "{}; its patch, applied to the base, does NOT heal: {}",
                self.reason,
                self.failure.as_deref().and_then(|f| f.lines().next()).unwrap_or("?")
            ),
        }
    }

    /// Whether `auto_merge = true` (at the default threshold) would have
    /// merged this fix: delivered, proven, scored at or above the
    /// threshold, and no judgement call left to a maintainer.
    pub fn would_auto_merge(&self) -> bool {
        self.branch.is_some()
            && self.proven
            && self.judgement_call.is_none()
            && self.confidence.is_some_and(|c| c >= DEFAULT_CONFIDENCE_THRESHOLD)
    }
}

/// The repository's policy: build + the crate's suite, offline templates,
/// the local forge, review only.
fn policy(case: &Case) -> String {
    format!(
        "auto_merge = false\nretry_limit = 2\n\n\
         [[checks]]\nname = \"build\"\ncommand = \"cargo build\"\n\n\
         [[checks]]\nname = \"test\"\ncommand = {suite:?}\n\n\
         [model]\nbackend = \"offline\"\n\n\
         [forge]\nkind = \"local\"\nremote = \"origin\"\nbase_branch = \"main\"\n",
        suite = case.suite,
    )
}

/// Sets up `work/repo` (+ `work/remote.git`) holding the buggy release on
/// `main`; returns the repository and the commit.
fn make_repo(settings: &Settings, case: &Case, buggy: &Source, work: &Path) -> Result<(PathBuf, String)> {
    let repo = work.join("repo");
    let remote = work.join("remote.git");
    source::copy_to(buggy, &repo)?;
    source::write(&repo.join("bugstack.toml"), &policy(case))?;
    source::write(&repo.join(".gitignore"), "/target\n")?;
    // The repository records its lock file, as an application's does.
    process::run_ok(
        shell(&repo, "cargo generate-lockfile", &settings.cargo_env()),
        "cargo generate-lockfile",
        Duration::from_secs(300),
    )?;
    git(&repo, &["init", "-q", "-b", "main"])?;
    git(&repo, &["add", "-A"])?;
    git(
        &repo,
        &["commit", "-q", "-m", &format!("{} {}", case.krate, case.buggy)],
    )?;
    std::fs::create_dir_all(&remote).map_err(Error::io(&remote))?;
    git(&remote, &["init", "-q", "--bare", "-b", "main"])?;
    let remote_str = remote.display().to_string();
    git(&repo, &["remote", "add", "origin", &remote_str])?;
    git(&repo, &["push", "-q", "origin", "main"])?;
    let commit = git(&repo, &["rev-parse", "HEAD"])?;
    Ok((repo, commit))
}

/// A running `bugstack serve`, stopped on drop.
struct Collector {
    child: std::process::Child,
    url: String,
}

impl Collector {
    fn start(settings: &Settings, data: &Path, token: &str) -> Result<Collector> {
        let mut c = Command::new(&settings.bugstack);
        c.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("BUGSTACK_TOKEN", token)
            .env_remove("BUGSTACK_REPO")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().map_err(|source| Error::Spawn {
            command: "bugstack serve".into(),
            source,
        })?;
        let stdout = child.stdout.take();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            if let Some(out) = stdout {
                for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                    let _ = tx.send(line);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut collector = Collector {
            child,
            url: String::new(),
        };
        while Instant::now() < deadline {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    if let Some(addr) = line.split("listening on ").nth(1) {
                        collector.url = addr.trim().to_string();
                        return Ok(collector);
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
            }
        }
        Err(Error::Bugstack(
            "`bugstack serve` printed no `listening on` line within 30 s".into(),
        ))
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        process::terminate(self.child.id());
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The incidents in `data`, as `bugstack incidents --json` lists them.
fn incidents(settings: &Settings, data: &Path) -> Result<Vec<serde_json::Value>> {
    let out = Command::new(&settings.bugstack)
        .args(["incidents", "--json", "--data"])
        .arg(data)
        .output()
        .map_err(|source| Error::Spawn {
            command: "bugstack incidents".into(),
            source,
        })?;
    if !out.status.success() {
        return Ok(Vec::new());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap_or_default())
}

/// Runs the reproducer in the SDK host against a fresh collector and returns
/// the incident's id.
fn report_the_panic(
    settings: &Settings,
    case: &Case,
    buggy: &Source,
    repo: &Path,
    commit: &str,
    work: &Path,
) -> Result<i64> {
    let data = work.join("data");
    let host_dir = work.join("host");
    host::write_host(settings, case, buggy, repo, &host_dir)?;
    let env = settings.cargo_env();
    process::run_ok(
        shell(&host_dir, "cargo build", &env),
        "cargo build (SDK host)",
        BUILD_TIMEOUT,
    )?;
    let token = format!("heal-bench-{}-{}", std::process::id(), case.name);
    let collector = Collector::start(settings, &data, &token)?;
    let binary = settings.target_dir.join("debug").join(host::package_name(case));
    let mut c = Command::new(&binary);
    c.current_dir(repo)
        .env("BUGSTACK_ENDPOINT", &collector.url)
        .env("BUGSTACK_TOKEN", &token)
        .env("BUGSTACK_RELEASE", commit)
        .env("BUGSTACK_SERVICE", host::package_name(case));
    let label = format!("{} (the reproducer under bugstack-sdk)", binary.display());
    process::run_ok(c, &label, Duration::from_secs(120))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(id) = incidents(settings, &data)?.first().and_then(|i| i["id"].as_i64()) {
            drop(collector);
            return Ok(id);
        }
        if Instant::now() > deadline {
            return Err(Error::Bugstack("no incident in the store 60 s after the panic".into()));
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// What went wrong with the reproducer on the fix branch, first line first:
/// a hang, a panic (its location and message), else the output's tail.
pub fn summarize_failure(run: &process::Run) -> String {
    let lines: Vec<&str> = run.output.lines().collect();
    let first = if run.status == Status::TimedOut {
        format!(
            "the reproducer hangs (killed after {} s)",
            check::REPRO_TIMEOUT.as_secs()
        )
    } else if let Some(i) = lines.iter().position(|l| l.contains("panicked at")) {
        let at = lines[i].split("panicked at").nth(1).unwrap_or_default().trim();
        format!(
            "the reproducer still fails: panicked at {at} {}",
            lines.get(i + 1).copied().unwrap_or_default()
        )
    } else if run.output.contains("error[") || run.output.contains("error: could not compile") {
        "the reproducer does not compile against the fix".to_string()
    } else {
        "the reproducer fails".to_string()
    };
    format!("{first}\n{}", run.tail(25))
}

/// `+`/`-` lines of a git diff, outside files under `tests/`.
pub fn non_test_lines(diff: &str) -> u32 {
    let mut in_test_file = false;
    let mut n = 0;
    for line in diff.lines() {
        if let Some(rest) = line.strip_prefix("diff --git ") {
            in_test_file = rest.split_whitespace().any(|p| p.contains("/tests/"));
        } else if line.starts_with("+++") || line.starts_with("---") {
            continue;
        } else if !in_test_file && (line.starts_with('+') || line.starts_with('-')) {
            n += 1;
        }
    }
    n
}

/// Drives bugstack on `case` and judges its proposal.
pub fn heal(settings: &Settings, case: &Case, buggy: &Source, work: &Path) -> Result<HealRun> {
    let (repo, commit) = make_repo(settings, case, buggy, work)?;
    let id = report_the_panic(settings, case, buggy, &repo, &commit, work)?;
    let data = work.join("data");
    let report_path = work.join("fix-report.json");
    let command = format!(
        "{} fix {id} --repo {} --data {} --json > {}",
        sh_quote(&settings.bugstack),
        sh_quote(&repo),
        sh_quote(&data),
        sh_quote(&report_path),
    );
    let started = Instant::now();
    let fix = process::run(shell(work, &command, &[]), "bugstack fix", Duration::from_secs(1800))?;
    let fix_secs = started.elapsed().as_secs_f64();
    if fix.status != Status::Passed {
        return Err(Error::Bugstack(format!(
            "`bugstack fix` {:?}:\n{}",
            fix.status,
            fix.tail(20)
        )));
    }
    let text = std::fs::read_to_string(&report_path).map_err(Error::io(&report_path))?;
    let report: serde_json::Value = serde_json::from_str(&text)?;
    let mut run = HealRun {
        decision: report["decision"]["kind"].as_str().unwrap_or("?").to_string(),
        reason: report["decision"]["reason"].as_str().unwrap_or_default().to_string(),
        generator: report["fix"]["generator"].as_str().map(str::to_string),
        fix_class: report["fix"]["class"].as_str().map(str::to_string),
        confidence: report["confidence"]["score"].as_f64(),
        attempts: report["attempts"].as_array().map_or(0, Vec::len),
        branch: report["deployment"]["branch"].as_str().map(str::to_string),
        has_regression_test: !report["fix"]["regression_test"].is_null(),
        proven: report["confidence"]["signals"].as_array().is_some_and(|signals| {
            signals
                .iter()
                .any(|s| s["name"] == "reproduction" && s["contribution"].as_f64().is_some_and(|c| c > 0.0))
        }),
        judgement_call: report["fix"]["invented_value"]
            .as_str()
            .map(|v| format!("makes up {v}"))
            .or_else(|| {
                report["fix"]["borrowed_error"]
                    .as_str()
                    .map(|e| format!("borrows `{e}`"))
            }),
        diff: report["fix"]["diff"].as_str().map(str::to_string),
        fix_secs,
        ..HealRun::default()
    };
    run.patch_lines = run.diff.as_deref().map(non_test_lines);
    let remote = work.join("remote.git").display().to_string();
    let healed = work.join("healed");
    match (run.branch.clone(), run.diff.clone()) {
        (Some(branch), _) => {
            git(work, &["clone", "-q", "--branch", &branch, &remote, "healed"])?;
        }
        // What `review_threshold = 0.0` would have proposed: the held patch
        // on the base, judged the same way.
        (None, Some(diff)) if run.held_below_threshold() => {
            git(work, &["clone", "-q", "--branch", "main", &remote, "healed"])?;
            let patch = work.join("held.diff");
            source::write(&patch, &diff)?;
            git(&healed, &["apply", &patch.display().to_string()])?;
        }
        (None, _) if run.decision == "no_fix" || run.decision == "held" => return Ok(run),
        (None, _) => {
            let why = report["deploy_error"].as_str().unwrap_or("no branch in the report");
            return Err(Error::Bugstack(format!(
                "decision {} without a branch: {why}",
                run.decision
            )));
        }
    }
    judge(settings, case, &healed, &mut run)?;
    Ok(run)
}

/// Judges the fix in `healed` by the case's own reproducer (not the test
/// the patch added) and the crate's suite.
fn judge(settings: &Settings, case: &Case, healed: &Path, run: &mut HealRun) -> Result<()> {
    let suite = check::run_suite(settings, case, healed)?;
    run.suite_on_fix = Some(suite.status);
    if suite.status != Status::Passed {
        run.failure = Some(suite.tail(25));
    }
    source::add_repro(case, healed)?;
    let repro = check::run_repro(settings, case, healed)?;
    run.repro_on_fix = Some(repro.status);
    if repro.status != Status::Passed {
        run.failure = Some(summarize_failure(&repro));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_fix_says_what_its_patch_does_on_the_base() {
        let held = HealRun {
            decision: "held".into(),
            reason: "below review_threshold".into(),
            ..HealRun::default()
        };
        assert_eq!(held.held_detail(), "below review_threshold");
        let heals = HealRun {
            repro_on_fix: Some(Status::Passed),
            suite_on_fix: Some(Status::Passed),
            ..held.clone()
        };
        assert_eq!(
            heals.held_detail(),
            "below review_threshold; its patch, applied to the base, heals"
        );
        let hangs = HealRun {
            repro_on_fix: Some(Status::TimedOut),
            failure: Some("the reproducer hangs (killed after 60 s)\n…".into()),
            ..heals
        };
        assert_eq!(
            hangs.held_detail(),
            "below review_threshold; its patch, applied to the base, does NOT heal: the reproducer hangs (killed after 60 s)"
        );
    }

    #[test]
    fn patch_lines_leave_out_files_under_tests() {
        let diff = "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a\n+b\n \
                    c\ndiff --git a/tests/x.rs b/tests/x.rs\n--- /dev/null\n+++ b/tests/x.rs\n@@ -0,0 +1 @@\n+t\n";
        assert_eq!(non_test_lines(diff), 2);
    }
}
