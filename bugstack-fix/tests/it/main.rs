//! bugstack-fix's integration tests, linked into one binary: one module per
//! area (as `tests/<name>.rs` files they were twenty binaries, each linking
//! the crate and its dependencies again), [`support`] the scaffolding they
//! share. Run one area with `cargo test -p bugstack-fix --test it <module>::`.

mod support;

mod context;
mod context_real_bugs;
mod custom_backend;
mod deploy_local;
mod deploy_pipeline;
mod end_to_end;
mod github;
mod github_prism;
mod llm_generator;
mod model_live;
mod model_prism;
mod pipeline;
mod report_markdown;
mod reproduce;
mod template_fixtures;
mod template_misses;
mod template_real_bugs;
mod template_strategies;
mod trust;
mod validate;
mod validate_cargo;
mod validate_pipeline;
mod validate_policy_doc;
