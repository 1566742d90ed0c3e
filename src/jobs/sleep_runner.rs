//! The fix-job runner the end-to-end tests use instead of the pipeline
//! (feature `test-support`; not in a release build).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use super::FixJobRunner;
use crate::store::{ClaimedJob, FixOutcome};
use crate::{Error, Result};

/// A test double for [`FixJobRunner`], built only with the `test-support`
/// feature and reachable from the binary only through the hidden
/// `serve --test-job-runner` flag, used by the end-to-end tests to
/// exercise claiming, crashes and retries without the real pipeline.
///
/// It appends `start job=<id> incident=<id> attempt=<n> pid=<pid>` to its log
/// file, sleeps, appends `finish ...`, and reports
/// [`FixOutcome::NoFix`] with a report saying that it is a test runner. It
/// never proposes or merges anything.
#[derive(Debug, Clone)]
pub struct SleepRunner {
    /// How long each run takes.
    pub delay: Duration,
    /// Where the start/finish lines go.
    pub log: PathBuf,
}

impl SleepRunner {
    /// The runner `serve --test-job-runner SPEC` asks for: `sleep-ms=N`
    /// sleeps N ms and logs to `data_dir/test-runner.log`.
    pub fn from_spec(spec: &str, data_dir: &Path) -> Result<Self> {
        let ms = spec
            .strip_prefix("sleep-ms=")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| Error::Config(format!("--test-job-runner {spec:?}: expected sleep-ms=N")))?;
        Ok(SleepRunner {
            delay: Duration::from_millis(ms),
            log: data_dir.join("test-runner.log"),
        })
    }

    fn log_line(&self, line: &str) -> Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| Error::io(format!("cannot open {}", self.log.display()), e))?;
        // One `write` per line: `writeln!` may split the text and its newline
        // into two writes, and two jobs appending at once then interleave.
        f.write_all(format!("{line}\n").as_bytes())
            .map_err(|e| Error::io(format!("cannot write {}", self.log.display()), e))?;
        f.sync_all()
            .map_err(|e| Error::io(format!("cannot sync {}", self.log.display()), e))
    }
}

#[async_trait]
impl FixJobRunner for SleepRunner {
    fn name(&self) -> &str {
        "test-sleep"
    }

    async fn run(&self, job: &ClaimedJob) -> Result<FixOutcome> {
        let tag = format!(
            "job={} incident={} attempt={} pid={}",
            job.job.id,
            job.incident.id,
            job.job.attempts,
            std::process::id()
        );
        self.log_line(&format!("start {tag}"))?;
        tokio::time::sleep(self.delay).await;
        self.log_line(&format!("finish {tag}"))?;
        Ok(FixOutcome::NoFix {
            reason: "test runner: no fix attempted".into(),
            report: serde_json::json!({
                "runner": "test-sleep",
                "note": "produced by the test double behind `serve --test-job-runner`, not by the fix pipeline",
                "incident": job.incident.id,
                "attempt": job.job.attempts,
            }),
        })
    }
}
