//! Plugging your own stages into the bugstack fix engine.
//!
//! This example runs offline and standalone:
//!
//! * `FnModel` is a custom [`LanguageModel`]: it wraps an in-process
//!   function instead of calling a server (swap in your company's gateway,
//!   a local inference library, a recorded replay, ...). It is driven by the
//!   built-in [`LlmGenerator`], which builds the prompt, parses the reply
//!   strictly and checks the diff.
//! * `UnwrapToDefault` is a custom [`FixGenerator`]: a tiny rule that
//!   rewrites `.unwrap()` on the failing line to `.unwrap_or_default()`.
//! * `InMemoryContext` and `TargetLineCheck` are minimal [`ContextBuilder`]
//!   and [`Validator`] implementations so the example needs no git
//!   repository and no cargo run (the built-in ones read the repository with
//!   git and run the project's checks in a worktree).
//!
//! Run it with `cargo run -p bugstack-fix --example custom_backend`; the
//! fix crate's tests run [`run`] too.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use bugstack_core::{Event, EventKind, Level, Location, Timestamp};
use bugstack_fix::{
    unified_diff, ChatRequest, ChatResponse, CheckResult, CheckStatus, ContextBuilder, Feedback, FileEdit, FixContext,
    FixGenerator, FixReport, Incident, LanguageModel, LlmGenerator, ModelError, Observer, Patch, Pipeline, Policy,
    Progress, RepoFrame, RepoRef, Snippet, SnippetKind, Validation, Validator,
};

/// The (tiny) repository being fixed.
const PATH: &str = "src/config.rs";
const SOURCE: &str = "\
pub fn parse_port(s: &str) -> u16 {
    s.trim().parse().unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_port() {
        assert_eq!(parse_port(\"8080\"), 8080);
    }
}
";

// ---------------------------------------------------------------------------
// A custom LanguageModel: any function from request to text.

/// A language model backed by an in-process function.
struct FnModel<F> {
    name: String,
    answer: F,
}

#[async_trait]
impl<F> LanguageModel for FnModel<F>
where
    F: Fn(&ChatRequest) -> Result<String, ModelError> + Send + Sync,
{
    fn name(&self) -> String {
        self.name.clone()
    }

    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        Ok(ChatResponse {
            content: (self.answer)(request)?,
            model: Some(self.name.clone()),
            finish_reason: Some("stop".into()),
            usage: None,
        })
    }
}

/// What our "model" answers: a vague first answer (which the generator
/// rejects, so the pipeline retries with that feedback), then a proper fix
/// in the reply format the prompt asks for.
fn scripted_expert(calls: &AtomicU32, request: &ChatRequest) -> Result<String, ModelError> {
    let prompt = &request.messages[0].content;
    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
        return Ok("The port parsing looks fragile; consider validating the input.".into());
    }
    // The retry prompt carries the reason the first answer was rejected.
    if !prompt.contains("Earlier attempts failed") {
        return Err(ModelError::InvalidResponse(
            "expected the retry prompt to carry feedback".into(),
        ));
    }
    let fixed = SOURCE
        .replace("s.trim().parse().unwrap()", "s.trim().parse().unwrap_or(0)")
        .replace(
            "        assert_eq!(parse_port(\"8080\"), 8080);\n    }\n",
            "        assert_eq!(parse_port(\"8080\"), 8080);\n    }\n\n    #[test]\n    fn garbage_port_is_zero() {\n        assert_eq!(parse_port(\"http\"), 0);\n    }\n",
        );
    Ok(format!(
        "<root_cause>`parse_port` unwraps the result of parsing user-supplied text, which panics on anything \
that is not a number.</root_cause>\n<explanation>Fall back to port 0 (\"unset\") instead of panicking.</explanation>\n\
<test_path>{PATH}</test_path>\n<test_name>config::tests::garbage_port_is_zero</test_name>\n\
<confidence>0.8</confidence>\n<diff>\n{}</diff>\n",
        unified_diff(PATH, SOURCE, &fixed)
    ))
}

// ---------------------------------------------------------------------------
// A custom FixGenerator: a one-rule rewrite.

/// Rewrites `.unwrap()` on the failing line to `.unwrap_or_default()`.
struct UnwrapToDefault;

#[async_trait]
impl FixGenerator for UnwrapToDefault {
    fn name(&self) -> String {
        "rule:unwrap-to-default".into()
    }

    async fn generate(&self, ctx: &FixContext, _feedback: &[Feedback]) -> bugstack_fix::Result<Patch> {
        let frame = ctx
            .target()
            .ok_or_else(|| bugstack_fix::Error::Generate("no frame in the repository".into()))?;
        let before = ctx
            .file(&frame.path)
            .ok_or_else(|| bugstack_fix::Error::Generate(format!("{} is not in the context", frame.path)))?;
        let mut lines: Vec<String> = before.lines().map(str::to_string).collect();
        let line = lines
            .get_mut((frame.line as usize).saturating_sub(1))
            .filter(|l| l.contains(".unwrap()"))
            .ok_or_else(|| bugstack_fix::Error::Generate("no `.unwrap()` on the failing line".into()))?;
        *line = line.replacen(".unwrap()", ".unwrap_or_default()", 1);
        let after = lines.join("\n") + "\n";
        let mut patch = Patch::from_edits(&[FileEdit {
            path: frame.path.clone(),
            before: before.to_string(),
            after,
        }])?;
        patch.generator = self.name();
        patch.class = Some("unwrap-err".into());
        patch.root_cause = "`.unwrap()` on a parse result that can be an error".into();
        patch.explanation = "use the type's default instead of panicking".into();
        Ok(patch)
    }
}

// ---------------------------------------------------------------------------
// Minimal context builder and validator, so the example runs standalone.

/// Serves the in-memory repository above.
struct InMemoryContext;

#[async_trait]
impl ContextBuilder for InMemoryContext {
    async fn build(&self, incident: &Incident, repo: &RepoRef) -> bugstack_fix::Result<FixContext> {
        let loc = incident
            .event
            .location
            .clone()
            .ok_or_else(|| bugstack_fix::Error::Context("the event has no location".into()))?;
        Ok(FixContext {
            frames: vec![RepoFrame {
                frame_index: None,
                path: PATH.into(),
                line: loc.line,
                column: loc.column,
                function: Some("config::parse_port".into()),
            }],
            snippets: vec![Snippet {
                kind: SnippetKind::FailingFunction,
                path: PATH.into(),
                start_line: 1,
                end_line: 14,
                item: Some("parse_port".into()),
                reason: "the panic location".into(),
                text: SOURCE.into(),
            }],
            files: BTreeMap::from([(PATH.to_string(), SOURCE.to_string())]),
            token_budget: 6000,
            tokens_used: SOURCE.len() / 4,
            ..FixContext::new(incident.clone(), repo.root.clone(), "in-memory")
        })
    }
}

/// "Checks" a candidate in memory: it applies, and the failing line no
/// longer unwraps. (The built-in validator runs `cargo build`/`test`/...
/// in an isolated git worktree instead.)
struct TargetLineCheck;

#[async_trait]
impl Validator for TargetLineCheck {
    async fn validate(&self, ctx: &FixContext, patch: &Patch, _policy: &Policy) -> bugstack_fix::Result<Validation> {
        let (status, output) = match patch.apply_to(&ctx.files) {
            Err(e) => (CheckStatus::Failed, e.to_string()),
            Ok(files) => {
                let line = ctx.target().map_or(0, |f| f.line as usize);
                let text = files.get(PATH).map_or("", String::as_str);
                match text.lines().nth(line.saturating_sub(1)) {
                    Some(l) if !l.contains(".unwrap()") => (CheckStatus::Passed, format!("line {line}: {}", l.trim())),
                    other => (CheckStatus::Failed, format!("line {line} still unwraps: {other:?}")),
                }
            }
        };
        Ok(Validation {
            sandbox: Some(bugstack_fix::SandboxReport {
                kind: "in-process".into(),
                detail: "the patch is applied in memory: no code from it runs".into(),
            }),
            checks: vec![CheckResult {
                verdict: None,
                name: "no-unwrap-on-failing-line".into(),
                command: "(in memory)".into(),
                status,
                base_status: Some(CheckStatus::Failed),
                exit_code: None,
                duration_ms: 0,
                output,
            }],
            regression: None,
        })
    }
}

/// Prints progress as the pipeline runs.
struct PrintProgress;

impl Observer for PrintProgress {
    fn on_progress(&self, p: &Progress) {
        match p {
            Progress::AttemptStarted { attempt } => println!("  attempt {attempt}"),
            Progress::PatchRejected { reason, .. } => println!("    rejected: {reason}"),
            Progress::PatchGenerated {
                files, changed_lines, ..
            } => {
                println!("    candidate: {changed_lines} changed line(s) in {}", files.join(", "))
            }
            Progress::Validated { passed, .. } => {
                println!("    validated: {}", if *passed { "passed" } else { "failed" })
            }
            Progress::Decided { decision } => println!("  decision: {:?} ({})", decision.kind, decision.reason),
            _ => {}
        }
    }
}

fn summarise(report: &FixReport) {
    println!("  generator: {}", report.generator);
    if let Some(fix) = &report.fix {
        println!("  root cause: {}", fix.root_cause);
        if let Some(t) = &fix.regression_test {
            println!("  regression test: {} in {}", t.name, t.path);
        }
        if let Some(c) = &report.confidence {
            println!("  confidence: {:.2}", c.score);
        }
        println!("  diff:\n{}", fix.diff);
    }
}

/// Runs `incident` through a pipeline of the example's context builder,
/// `generator` and the example's validator, printing its progress, then a
/// summary of its report.
async fn run_pipeline(
    generator: Arc<dyn FixGenerator>,
    incident: &Incident,
    repo: &RepoRef,
    policy: &Policy,
) -> bugstack_fix::Result<FixReport> {
    let pipeline =
        Pipeline::new(Arc::new(InMemoryContext), generator, Arc::new(TargetLineCheck)).with_observer(PrintProgress);
    let report = pipeline.run(incident, repo, policy).await?;
    summarise(&report);
    Ok(report)
}

/// Runs the incident through two pipelines (the custom generator, then the
/// custom model behind the built-in LLM generator) and returns their
/// reports; an error when either produced no fix.
pub(crate) async fn run() -> Result<[FixReport; 2], Box<dyn std::error::Error>> {
    let mut event = Event::new(
        EventKind::Panic,
        Level::Fatal,
        "called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }",
        Timestamp::now(),
    );
    event.location = Some(Location {
        file: PATH.into(),
        line: 2,
        column: Some(22),
    });
    let incident = Incident::from_event("example-1", event);
    let repo = RepoRef::new(".");
    let policy = Policy::default();

    println!("1. A custom FixGenerator (a one-rule rewrite):");
    let rule = run_pipeline(Arc::new(UnwrapToDefault), &incident, &repo, &policy).await?;

    println!("2. A custom LanguageModel behind the built-in LLM generator:");
    let calls = AtomicU32::new(0);
    let model = FnModel {
        name: "in-process:scripted-expert".into(),
        answer: move |req: &ChatRequest| scripted_expert(&calls, req),
    };
    let generator = LlmGenerator::new(Arc::new(model), policy.clone());
    let llm = run_pipeline(Arc::new(generator), &incident, &repo, &policy).await?;
    println!(
        "  (the full machine-readable report is {} bytes of JSON)",
        llm.to_json().len()
    );
    if rule.fix.is_none() {
        return Err("the rule pipeline produced no fix".into());
    }
    if llm.fix.is_none() {
        return Err("the LLM pipeline produced no fix".into());
    }
    Ok([rule, llm])
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    run().await.map(|_| ())
}
