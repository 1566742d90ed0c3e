//! `bugstack project add` / `list`, and how the other commands pick their
//! project (`--project NAME`, else the default project).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bugstack_core::Timestamp;
use serde::Serialize;

use super::args::{ProjectAddArgs, ProjectArg, ProjectListArgs, ScopeArgs};
use super::data_dir;
use crate::collector::generate_token;
use crate::store::{
    hash_token, is_postgres_url, validate_project_name, ForgeSpec, ForgeStore, IncidentRecord, IncidentStore,
    NewProject, PostgresStore, ProjectRecord, PullRequestRecord, SqliteStore, DEFAULT_PROJECT_ID,
};
use crate::terminal::sanitize;
use crate::{Error, Result};

/// Opens the store for `project add`: like `serve`, it creates an empty
/// store (projects can be added before the first `serve`).
fn open_or_create(args: &super::DataArgs) -> Result<std::sync::Arc<dyn ForgeStore>> {
    match args.store.as_ref().map(bugstack_core::Secret::expose) {
        Some(url) if is_postgres_url(url) => Ok(std::sync::Arc::new(PostgresStore::connect(url)?)),
        Some(_) => Err(Error::Config(
            "--store / BUGSTACK_STORE takes a Postgres URL (postgres://USER:PASSWORD@HOST:PORT/DB); SQLite, the default, lives in --data"
                .into(),
        )),
        None => Ok(std::sync::Arc::new(SqliteStore::open(&data_dir(args))?)),
    }
}

/// What `project add --json` prints: the project and its token (shown
/// this once).
#[derive(Debug, Serialize)]
struct Added<'a> {
    project: &'a ProjectRecord,
    token: &'a str,
}

/// `bugstack project add`.
pub(crate) fn add(args: &ProjectAddArgs) -> Result<()> {
    validate_project_name(&args.name)?;
    let forge = args.forge.as_deref().map(str::parse::<ForgeSpec>).transpose()?;
    let repo = local_repo(&args.repo)?;
    let store = open_or_create(&args.data)?;
    let token = generate_token()?;
    let project = store.add_project(
        &NewProject {
            name: args.name.clone(),
            token_hash: hash_token(&token),
            repo,
            forge: forge.map(|f| f.to_string()),
        },
        Timestamp::now(),
    )?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&Added {
                project: &project,
                token: &token
            })?
        );
        return Ok(());
    }
    println!(
        "bugstack: added project {} (repository {}{})",
        project.name,
        project.repo.as_deref().unwrap_or_default(),
        project
            .forge
            .as_deref()
            .map(|f| format!(", forge {f}"))
            .unwrap_or_default()
    );
    println!("bugstack: its ingest token (shown once; only its hash is stored) — the project's services send it:");
    println!("  BUGSTACK_TOKEN={token}");
    println!("bugstack: restart `bugstack serve` to run its fix jobs; its events are accepted now");
    Ok(())
}

/// The repository as stored: a local directory is checked (its
/// `bugstack.toml` must load) and made absolute; anything else (a URL for a
/// checkout elsewhere) is kept as given.
fn local_repo(repo: &str) -> Result<String> {
    let repo = repo.trim();
    if repo.is_empty() {
        return Err(Error::Config("--repo is empty: name the project's repository".into()));
    }
    let path = Path::new(repo);
    if !path.exists() {
        if repo.contains("://") || repo.starts_with("git@") {
            return Ok(repo.to_string());
        }
        return Err(Error::Config(format!(
            "--repo {repo}: no such directory (give the checkout its fix jobs run in)"
        )));
    }
    super::fix::load_policy(path)?;
    let abs = std::fs::canonicalize(path).map_err(|e| Error::io(format!("cannot resolve {repo}"), e))?;
    Ok(abs.display().to_string())
}

/// One row of `project list --json`.
#[derive(Debug, Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    project: &'a ProjectRecord,
    /// Its incidents.
    incidents: usize,
}

/// `bugstack project list`.
pub(crate) fn list(args: &ProjectListArgs) -> Result<()> {
    let store = super::open_existing(&args.data)?;
    let projects = store.projects()?;
    let mut counts: BTreeMap<i64, usize> = BTreeMap::new();
    for i in store.incidents()? {
        *counts.entry(i.project).or_default() += 1;
    }
    if args.json {
        let rows: Vec<Listed<'_>> = projects
            .iter()
            .map(|p| Listed {
                project: p,
                incidents: counts.get(&p.id).copied().unwrap_or(0),
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("{:<20}  {:>9}  {:<22}  REPOSITORY", "PROJECT", "INCIDENTS", "FORGE");
    for p in &projects {
        let repo = if p.is_default() {
            "(serve --repo)".to_string()
        } else {
            sanitize(p.repo.as_deref().unwrap_or_default(), 80)
        };
        println!(
            "{:<20}  {:>9}  {:<22}  {}",
            p.name,
            counts.get(&p.id).copied().unwrap_or(0),
            p.forge.as_deref().unwrap_or("(bugstack.toml)"),
            repo
        );
    }
    Ok(())
}

/// The project a command works in: `--project NAME`, else the default one.
/// The store `scope` names (it must exist) and the project it works in.
pub(crate) fn open_in(scope: &ScopeArgs) -> Result<(Arc<dyn ForgeStore>, ProjectRecord)> {
    let store = super::open_existing(&scope.data)?;
    let project = chosen(store.as_ref(), &scope.project)?;
    Ok((store, project))
}

pub(crate) fn chosen(store: &dyn IncidentStore, arg: &ProjectArg) -> Result<ProjectRecord> {
    match arg.project.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(name) => store.project_named(name),
        None => store
            .projects()?
            .into_iter()
            .find(ProjectRecord::is_default)
            .ok_or_else(|| Error::ProjectNotFound(crate::store::DEFAULT_PROJECT_NAME.into())),
    }
}

/// When no `--project` was given and other projects exist, says on stderr
/// which project is shown and how to see the others (the listing itself
/// stays on stdout, unchanged).
pub(crate) fn note_default(store: &dyn IncidentStore, arg: &ProjectArg, project: &ProjectRecord) -> Result<()> {
    if arg.project.is_some() {
        return Ok(());
    }
    let others: Vec<String> = store
        .projects()?
        .into_iter()
        .filter(|p| p.id != project.id)
        .map(|p| p.name)
        .collect();
    if !others.is_empty() {
        eprintln!(
            "bugstack: project {} (also: {}; pass --project NAME)",
            project.name,
            others.join(", ")
        );
    }
    Ok(())
}

/// Incident `id`, refused unless it belongs to `project` (the error names
/// the project it belongs to).
pub(crate) fn incident_in(store: &dyn IncidentStore, id: i64, project: &ProjectRecord) -> Result<IncidentRecord> {
    let incident = store.incident(id)?;
    if incident.project != project.id {
        return Err(not_in(store, format!("incident {id}"), project, incident.project));
    }
    Ok(incident)
}

/// Whether pull request `pr` belongs to `project` (through its incident; a
/// pull request a run has not linked yet counts as the default project's).
pub(crate) fn pull_request_in(
    store: &dyn IncidentStore,
    pr: &PullRequestRecord,
    project: &ProjectRecord,
) -> Result<bool> {
    Ok(pull_request_project(store, pr)? == project.id)
}

fn pull_request_project(store: &dyn IncidentStore, pr: &PullRequestRecord) -> Result<i64> {
    Ok(match pr.incident_id {
        Some(id) => store.incident(id)?.project,
        None => DEFAULT_PROJECT_ID,
    })
}

/// Pull request `pr`, refused unless it belongs to `project`.
pub(crate) fn check_pull_request(
    store: &dyn IncidentStore,
    pr: &PullRequestRecord,
    project: &ProjectRecord,
) -> Result<()> {
    let actual = pull_request_project(store, pr)?;
    if actual != project.id {
        return Err(not_in(store, format!("pull request #{}", pr.number), project, actual));
    }
    Ok(())
}

fn not_in(store: &dyn IncidentStore, what: String, asked: &ProjectRecord, actual: i64) -> Error {
    let actual = store
        .projects()
        .ok()
        .and_then(|ps| ps.into_iter().find(|p| p.id == actual))
        .map_or_else(|| format!("#{actual}"), |p| p.name);
    Error::NotInProject {
        what,
        asked: asked.name.clone(),
        actual,
    }
}

/// `project`'s policy: the `bugstack.toml` of `repo` with the project's
/// forge (`--forge` of `project add`), when it has one, in place of the
/// policy's `[forge]` kind and repository.
pub(crate) fn policy_of(repo: &Path, project: &ProjectRecord) -> Result<bugstack_fix::Policy> {
    let mut policy = super::fix::load_policy(repo)?;
    if let Some(forge) = &project.forge {
        forge.parse::<ForgeSpec>()?.apply(&mut policy.forge);
    }
    Ok(policy)
}
