//! Showing a fix run to a person as it goes: on a terminal a live display
//! (an `indicatif` spinner for the stage running now — context, generate,
//! validate, deliver — and a finished line per stage and per check); when
//! the output is not a terminal, the plain [`progress_line`]s, one per
//! event, as before. The pipeline only reports [`Progress`] events to an
//! observer; nothing in bugstack-fix prints.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bugstack_fix::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::progress_line;

/// Where the display writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output (the demo).
    Stdout,
    /// Standard error (`bugstack fix`, whose stdout is the result).
    Stderr,
}

/// A fix run's progress for a person: live on a terminal, plain lines
/// otherwise. Share it (`Arc`) between the pipeline's observer and the code
/// that calls [`StageDisplay::finish`] when the run is over.
#[derive(Debug)]
pub struct StageDisplay {
    stream: Stream,
    prefix: String,
    live: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl StageDisplay {
    /// A display on `stream`, every line starting with `prefix`; live when
    /// `stream` is a terminal.
    pub fn new(stream: Stream, prefix: impl Into<String>) -> Arc<Self> {
        let live = match stream {
            Stream::Stdout => std::io::stdout().is_terminal(),
            Stream::Stderr => std::io::stderr().is_terminal(),
        };
        Self::with_mode(stream, prefix, live)
    }

    /// A display that is live or plain as told (tests, or `--no-progress`).
    pub fn with_mode(stream: Stream, prefix: impl Into<String>, live: bool) -> Arc<Self> {
        Arc::new(StageDisplay {
            stream,
            prefix: prefix.into(),
            live,
            current: Mutex::new(None),
        })
    }

    /// Whether it draws a live display.
    pub fn is_live(&self) -> bool {
        self.live
    }

    fn plain(&self, line: &str) {
        match self.stream {
            Stream::Stdout => println!("{}{line}", self.prefix),
            Stream::Stderr => eprintln!("{}{line}", self.prefix),
        }
    }

    fn spinner(&self, message: String) -> ProgressBar {
        let target = match self.stream {
            Stream::Stdout => ProgressDrawTarget::stdout(),
            Stream::Stderr => ProgressDrawTarget::stderr(),
        };
        let bar = ProgressBar::with_draw_target(None, target);
        let style = ProgressStyle::with_template(&format!("{}{{spinner}} {{msg}} ({{elapsed}})", self.prefix))
            .unwrap_or_else(|_| ProgressStyle::default_spinner());
        bar.set_style(style);
        bar.set_message(message);
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    }

    /// Replaces the running stage's spinner (finishing the old one with
    /// `done`, when given) and starts one for `next`, when given.
    fn stage(&self, done: Option<String>, next: Option<String>) {
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(bar) = current.take() {
            match &done {
                Some(line) => {
                    bar.finish_and_clear();
                    self.plain(line);
                }
                None => bar.finish_and_clear(),
            }
        } else if let Some(line) = &done {
            self.plain(line);
        }
        *current = next.map(|m| self.spinner(m));
    }

    /// A finished line printed above the running spinner.
    fn line(&self, text: String) {
        let current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match current.as_ref() {
            Some(bar) => bar.suspend(|| self.plain(&text)),
            None => self.plain(&text),
        }
    }

    /// Shows one pipeline event.
    pub fn show(&self, p: &Progress) {
        if !self.live {
            self.plain(&progress_line(p));
            return;
        }
        let text = progress_line(p);
        match p {
            Progress::ContextStarted | Progress::AttemptStarted { .. } => self.stage(None, Some(text)),
            Progress::ContextBuilt { .. } => self.stage(
                Some(format!("✓ {text}")),
                Some("reproducing: searching for an input that raises the panic".into()),
            ),
            Progress::Reproduced { status, .. } => {
                let mark = if *status == bugstack_fix::ReproductionStatus::Reproduced {
                    "✓"
                } else {
                    "·"
                };
                self.stage(Some(format!("{mark} {text}")), None)
            }
            Progress::PatchGenerated { attempt, .. } => self.stage(
                Some(format!("✓ {text}")),
                Some(format!("attempt {attempt}: validating (running the checks)")),
            ),
            Progress::PatchRejected { .. } | Progress::DeployFailed { .. } => {
                self.stage(Some(format!("✗ {text}")), None)
            }
            Progress::CheckFinished { .. } => self.line(format!("  · {text}")),
            Progress::Validated { passed, .. } => {
                self.stage(Some(format!("{} {text}", if *passed { "✓" } else { "✗" })), None)
            }
            Progress::Scored { .. } => self.line(text),
            Progress::Decided { decision } => {
                let next = decision.kind.delivers().then(|| "delivering the fix".to_string());
                self.stage(Some(text), next)
            }
            Progress::Deployed { .. } => self.stage(Some(format!("✓ {text}")), None),
        }
    }

    /// Clears whatever spinner is still running (a run without delivery).
    pub fn finish(&self) {
        self.stage(None, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_display_that_is_not_live_keeps_the_plain_lines_and_a_live_one_ends_clean() {
        let plain = StageDisplay::with_mode(Stream::Stderr, "bugstack: ", false);
        assert!(!plain.is_live());
        plain.show(&Progress::ContextStarted);
        assert!(plain.current.lock().unwrap().is_none(), "no spinner when plain");
        let live = StageDisplay::with_mode(Stream::Stderr, "", true);
        live.show(&Progress::ContextStarted);
        assert!(
            live.current.lock().unwrap().is_some(),
            "a spinner for the running stage"
        );
        live.show(&Progress::ContextBuilt {
            snippets: 3,
            tokens: 120,
            target: Some("src/lib.rs:5".into()),
        });
        assert!(
            live.current.lock().unwrap().is_some(),
            "a spinner while the panic is searched for"
        );
        live.show(&Progress::Reproduced {
            status: bugstack_fix::ReproductionStatus::NotReproduced,
            detail: "no input found".into(),
        });
        assert!(live.current.lock().unwrap().is_none());
        live.show(&Progress::AttemptStarted { attempt: 1 });
        live.show(&Progress::Decided {
            decision: bugstack_fix::Decision {
                kind: bugstack_fix::DecisionKind::Review,
                reason: "r".into(),
            },
        });
        assert!(live.current.lock().unwrap().is_some(), "delivering");
        live.finish();
        assert!(live.current.lock().unwrap().is_none());
    }
}
