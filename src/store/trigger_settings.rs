//! The fix triggers a store applies when it records an incident: the
//! store's own (`[triggers]`, with the queue cap) and those of the projects
//! that have their own. Both backends hold one [`TriggerSettings`].

use std::collections::HashMap;
use std::sync::RwLock;

use bugstack_fix::Triggers;

/// Which incidents get a fix job, and the cap on the jobs queued at once;
/// a poisoned lock is used as it stands (the values are plain data).
#[derive(Debug, Default)]
pub(crate) struct TriggerSettings {
    /// The store's triggers; its `max_queued_jobs` is the queue's cap.
    global: RwLock<Triggers>,
    /// Triggers of the projects that have their own.
    projects: RwLock<HashMap<i64, Triggers>>,
}

impl TriggerSettings {
    /// Sets the store's triggers (a cap of at least 1).
    pub(crate) fn set(&self, triggers: Triggers) {
        let cap = triggers.max_queued_jobs.max(1);
        *self.global.write().unwrap_or_else(|p| p.into_inner()) = Triggers {
            max_queued_jobs: cap,
            ..triggers
        };
    }

    /// Sets the queue's cap (at least 1).
    pub(crate) fn set_cap(&self, cap: usize) {
        self.global.write().unwrap_or_else(|p| p.into_inner()).max_queued_jobs = cap.max(1);
    }

    /// Sets `project`'s own triggers.
    pub(crate) fn set_project(&self, project: i64, triggers: Triggers) {
        self.projects
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(project, triggers);
    }

    /// The triggers of `project`'s incidents: its own when set, else the
    /// store's; the queue cap is always the store's.
    pub(crate) fn for_project(&self, project: i64) -> Triggers {
        let global = self.global.read().unwrap_or_else(|p| p.into_inner()).clone();
        match self.projects.read().unwrap_or_else(|p| p.into_inner()).get(&project) {
            Some(own) => Triggers {
                max_queued_jobs: global.max_queued_jobs,
                ..own.clone()
            },
            None => global,
        }
    }

    /// The cap on the fix jobs queued at once.
    pub(crate) fn cap(&self) -> usize {
        self.global.read().unwrap_or_else(|p| p.into_inner()).max_queued_jobs
    }
}
