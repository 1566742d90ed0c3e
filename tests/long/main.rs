//! The longest end-to-end tests (each runs the real `bugstack` binary, or
//! the heal benchmark's cases, for tens of seconds), in one test binary: the
//! test runner runs them side by side, where as separate binaries each one
//! that holds a single test left the other core idle, and it is linked once.

#[path = "../common/mod.rs"]
mod common;

mod adversarial;
mod collector_load;
mod demo;
mod fix_pipeline;
mod heal_bench;
mod pull_controls;
