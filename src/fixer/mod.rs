//! The fix pipeline as `bugstack demo` builds it from a repository's
//! `bugstack.toml` (`bugstack fix` and `serve --auto-fix` use
//! [`crate::fix_runner`], which records runs and pull requests in the store).
//!
//! [`build_pipeline`] assembles the stages the policy names:
//!
//! | stage | implementation |
//! |---|---|
//! | context | [`RustContextBuilder`] |
//! | generate | `model.backend = "offline"`: [`TemplateGenerator`]; `openai` / `anthropic`: [`LlmGenerator`] over [`bugstack_fix::model::from_config`] |
//! | validate | [`WorktreeValidator`], `CARGO_TARGET_DIR` shared by every run: [`FixerOptions::target_dir`] (default `<data>/target`) |
//! | deploy | [`ForgeDeployer`] over the policy's forge ([`forge_from_policy`]), PR body = [`render_markdown`] |
//!
//! The local forge records its pull requests in `<data>/forge/pulls.json`
//! ([`JsonPullRequestStore`]); the run that opened one records it in the
//! incident store too (`bugstack prs`).
//!
//! Reports are written to `<data>/reports/<run>.{json,md}` by [`write_report`].

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bugstack_fix::deploy::{forge_from_policy, ForgeDeployer, JsonPullRequestStore, PullRequestStore};
use bugstack_fix::policy::ModelBackend;
use bugstack_fix::{
    render_markdown, FixGenerator, FixReport, Incident, LlmGenerator, Observer, Pipeline, Policy, RepoRef,
    RustContextBuilder, TemplateGenerator, ValidatorOptions, WorktreeValidator,
};

use crate::{Error, Result};

/// Where the local forge's pull request file lives, inside the data directory.
pub const FORGE_DIR: &str = "forge";
/// Where reports are written, inside the data directory.
pub const REPORTS_DIR: &str = "reports";
/// The shared cargo target directory of validations, inside the data directory.
pub const TARGET_DIR: &str = "target";

/// How the pipeline is built, besides the policy.
#[derive(Clone, Default)]
pub struct FixerOptions {
    /// Where the local forge records pull requests (default: a
    /// [`JsonPullRequestStore`] in `<data>/forge`). The incident store, once it
    /// implements [`PullRequestStore`], goes here so `bugstack prs` shows the
    /// forge's own records.
    pub pr_store: Option<Arc<dyn PullRequestStore>>,
    /// `CARGO_TARGET_DIR` of every validation (default `<data>/target`).
    pub target_dir: Option<PathBuf>,
    /// Run every check on the base commit too (see [`ValidatorOptions`]).
    /// `None`: the validator's default (on).
    pub judge_against_base: Option<bool>,
}

impl std::fmt::Debug for FixerOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixerOptions")
            .field("pr_store", &self.pr_store.is_some())
            .field("target_dir", &self.target_dir)
            .field("judge_against_base", &self.judge_against_base)
            .finish()
    }
}

/// A pipeline built for one repository, with its policy.
#[derive(Debug, Clone)]
pub struct RepoPipeline {
    /// The pipeline.
    pub pipeline: Pipeline,
    /// The repository's policy.
    pub policy: Policy,
    /// The repository root.
    pub repo: PathBuf,
    /// The data directory (reports, forge records).
    pub data_dir: PathBuf,
}

/// Checks that `repo` is a git work tree, with a clear error when not.
pub fn check_repo(repo: &Path) -> Result<()> {
    if !repo.is_dir() {
        return Err(Error::Config(format!("--repo {}: not a directory", repo.display())));
    }
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--is-inside-work-tree"])
        .output()
        .map_err(|e| Error::io("cannot run git in", repo.display(), e))?;
    if !out.status.success() || String::from_utf8_lossy(&out.stdout).trim() != "true" {
        return Err(Error::Config(format!(
            "--repo {}: not a git repository",
            repo.display()
        )));
    }
    Ok(())
}

/// The generator `policy.model` names.
pub fn generator_for(policy: &Policy) -> Result<Arc<dyn FixGenerator>> {
    Ok(match policy.model.backend {
        ModelBackend::Offline => Arc::new(TemplateGenerator::new()),
        ModelBackend::Openai | ModelBackend::Anthropic => {
            let model = bugstack_fix::model::from_config(&policy.model)
                .map_err(|e| Error::Config(format!("[model] in bugstack.toml: {e}")))?
                .ok_or_else(|| Error::Config("[model]: the backend needs a model".into()))?;
            Arc::new(LlmGenerator::new(model, policy.clone()))
        }
    })
}

/// Builds the pipeline for `repo` from its `bugstack.toml` (see the module
/// docs), reporting progress to `observer`.
pub async fn build_pipeline(
    repo: &Path,
    data_dir: &Path,
    options: &FixerOptions,
    observer: impl Observer + 'static,
) -> Result<RepoPipeline> {
    check_repo(repo)?;
    let repo = std::fs::canonicalize(repo).map_err(|e| Error::io("cannot resolve", repo.display(), e))?;
    let policy = Policy::load(&repo)?;
    let generator = generator_for(&policy)?;
    let mut vopts = ValidatorOptions {
        target_dir: Some(options.target_dir.clone().unwrap_or_else(|| data_dir.join(TARGET_DIR))),
        ..ValidatorOptions::default()
    };
    if let Some(judge) = options.judge_against_base {
        vopts.judge_against_base = judge;
    }
    let forge_err = |e: bugstack_fix::Error| Error::Config(format!("forge (bugstack.toml [forge]): {e}"));
    let prs: Arc<dyn PullRequestStore> = match &options.pr_store {
        Some(s) => s.clone(),
        None => Arc::new(JsonPullRequestStore::open(data_dir.join(FORGE_DIR)).map_err(forge_err)?),
    };
    let forge = forge_from_policy(&policy, &repo, prs).await.map_err(forge_err)?;
    let deployer = ForgeDeployer::new(forge, Arc::new(render_markdown))
        .with_ci_polling(Duration::from_millis(200), Duration::from_secs(5));
    let pipeline = Pipeline::new(
        Arc::new(RustContextBuilder::new()),
        generator,
        Arc::new(WorktreeValidator::new(vopts)),
    )
    .with_deployer(Arc::new(deployer))
    .with_observer(observer);
    Ok(RepoPipeline {
        pipeline,
        policy,
        repo,
        data_dir: data_dir.to_path_buf(),
    })
}

impl RepoPipeline {
    /// Runs the pipeline on `incident` (at the incident's release).
    pub async fn run(&self, incident: &Incident) -> Result<FixReport> {
        self.pipeline
            .run(incident, &RepoRef::new(&self.repo), &self.policy)
            .await
            .map_err(|e| Error::Task(format!("fix pipeline failed: {e}")))
    }

    /// Writes `report` as `<data>/reports/<incident>-<run>.json` and `.md`;
    /// returns both paths.
    pub fn write_report(&self, report: &FixReport, run: &str) -> Result<(PathBuf, PathBuf)> {
        write_report(&self.data_dir, report, run)
    }
}

/// Writes `report` as `<data>/reports/<incident>-<run>.json` and `.md`.
pub fn write_report(data_dir: &Path, report: &FixReport, run: &str) -> Result<(PathBuf, PathBuf)> {
    let dir = data_dir.join(REPORTS_DIR);
    std::fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", dir.display(), e))?;
    let stem: String = format!("{}-{run}", report.incident.id)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    let json = dir.join(format!("{stem}.json"));
    let md = dir.join(format!("{stem}.md"));
    std::fs::write(&json, report.to_json()).map_err(|e| Error::io("cannot write", json.display(), e))?;
    std::fs::write(&md, render_markdown(report)).map_err(|e| Error::io("cannot write", md.display(), e))?;
    Ok((json, md))
}

/// One human line for a pipeline progress event.
pub fn progress_line(p: &bugstack_fix::Progress) -> String {
    use bugstack_fix::Progress as P;
    match p {
        P::ContextStarted => "building context".into(),
        P::ContextBuilt {
            snippets,
            tokens,
            target,
        } => format!(
            "context: {snippets} snippets, {tokens} tokens, target {}",
            target
                .as_deref()
                .map(|t| crate::cli::sanitize(t, 200))
                .unwrap_or_else(|| "?".into())
        ),
        P::AttemptStarted { attempt } => format!("attempt {attempt}: generating a candidate"),
        P::PatchGenerated {
            attempt,
            files,
            changed_lines,
        } => format!(
            "attempt {attempt}: candidate changes {changed_lines} line(s) in {}",
            crate::cli::sanitize(&files.join(", "), 200)
        ),
        P::PatchRejected { attempt, reason } => {
            format!("attempt {attempt}: rejected: {}", crate::cli::sanitize(reason, 300))
        }
        P::CheckFinished { attempt, check } => format!(
            "attempt {attempt}: check {} ({}): {:?} in {:.1}s",
            check.name,
            check.command,
            check.status,
            check.duration_ms as f64 / 1000.0
        ),
        P::Validated { attempt, passed } => format!(
            "attempt {attempt}: {}",
            if *passed { "validated" } else { "failed validation" }
        ),
        P::Scored { score } => format!("confidence {score:.2}"),
        P::Decided { decision } => format!("decision {:?}: {}", decision.kind, decision.reason),
        P::Deployed { pull_request, merged } => format!(
            "pull request #{pull_request} {}",
            if *merged { "merged" } else { "opened" }
        ),
        P::DeployFailed { reason } => format!("deploy failed: {}", crate::cli::sanitize(reason, 300)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_follows_the_model_backend() {
        let offline = Policy::default();
        assert_eq!(generator_for(&offline).unwrap().name(), "template");
        let mut llm = Policy::default();
        llm.model.backend = ModelBackend::Openai;
        llm.model.model = Some("m".into());
        llm.model.api_key_env = Some("BUGSTACK_TEST_SURELY_UNSET_KEY".into());
        let err = generator_for(&llm).err().expect("no API key: an error");
        assert!(matches!(err, Error::Config(ref m) if m.starts_with("[model]")), "{err}");
    }

    #[test]
    fn a_directory_that_is_not_a_git_repository_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_repo(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with("not a git repository"), "{err}");
        let err = check_repo(&dir.path().join("missing")).unwrap_err().to_string();
        assert!(err.contains("not a directory"), "{err}");
    }

    #[test]
    fn progress_lines_strip_control_characters() {
        let line = progress_line(&bugstack_fix::Progress::PatchRejected {
            attempt: 2,
            reason: "bad\x1b[2Jthing".into(),
        });
        assert_eq!(line, "attempt 2: rejected: bad?[2Jthing");
    }
}
