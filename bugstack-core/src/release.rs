//! A release announcement: which release a process runs and, when the
//! service embeds it, its resolved dependency list (name and version of every
//! package in its `Cargo.lock`).
//!
//! An SDK sends one per process start, in the first batch after it starts
//! ([`Batch::release`](crate::Batch)), so the collector knows which releases
//! are live even when they raise nothing. Decoding is bounded like an
//! event's ([`crate::limits`]): at most [`MAX_DEPENDENCIES`] dependencies are
//! kept (the rest counted in [`ReleaseAnnouncement::omitted_dependencies`]),
//! names and versions are cut to [`MAX_DEPENDENCY_FIELD_BYTES`], the release
//! name to [`MAX_FIELD_BYTES`](crate::limits::MAX_FIELD_BYTES).

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};

use crate::bounded::{self, Capped, Keep};
use crate::limits::{MAX_DEPENDENCIES, MAX_DEPENDENCY_FIELD_BYTES};
use crate::Timestamp;

/// One resolved dependency: a package name and the exact version a service
/// was built with.
///
/// The fields are `Cow<'static, str>` so the SDK's `dependencies!()` macro
/// can embed a list as a `static` ([`Dependency::from_static`]) while a
/// decoded list owns its strings.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Dependency {
    /// The package name as in `Cargo.lock` (`serde`, `tokio`, ...).
    #[serde(deserialize_with = "dependency_field")]
    pub name: Cow<'static, str>,
    /// The exact version (`1.0.219`).
    #[serde(deserialize_with = "dependency_field")]
    pub version: Cow<'static, str>,
}

impl Dependency {
    /// A dependency with owned or borrowed strings.
    pub fn new(name: impl Into<Cow<'static, str>>, version: impl Into<Cow<'static, str>>) -> Self {
        Dependency {
            name: name.into(),
            version: version.into(),
        }
    }

    /// A dependency of static strings, usable in a `const` or `static`.
    pub const fn from_static(name: &'static str, version: &'static str) -> Self {
        Dependency {
            name: Cow::Borrowed(name),
            version: Cow::Borrowed(version),
        }
    }

    /// The crate name as it appears in Rust paths (`-` becomes `_`), e.g.
    /// `serde_json` for the package `serde-json`.
    pub fn crate_name(&self) -> String {
        self.name.replace('-', "_")
    }
}

fn dependency_field<'de, D: Deserializer<'de>>(d: D) -> Result<Cow<'static, str>, D::Error> {
    bounded::bounded_string(d, MAX_DEPENDENCY_FIELD_BYTES).map(Cow::Owned)
}

fn dependencies<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Capped<Dependency>>, D::Error> {
    struct Seq(Capped<Dependency>);
    impl<'de> Deserialize<'de> for Seq {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            bounded::capped_seq(d, MAX_DEPENDENCIES, Keep::First).map(Seq)
        }
    }
    Option::<Seq>::deserialize(d).map(|o| o.map(|s| s.0))
}

/// "This release is live": sent by an SDK once per process start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReleaseAnnouncement {
    /// The release (version, tag or commit), as events carry it in `release`.
    pub name: String,
    /// When the announcing process started (the sender's clock).
    pub started_at: Timestamp,
    /// The service's resolved dependencies, when it embeds them
    /// (`bugstack_sdk::dependencies!()`); `None` when it does not say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dependencies: Option<Vec<Dependency>>,
    /// Dependencies past [`MAX_DEPENDENCIES`] skipped while decoding.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted_dependencies: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ReleaseAnnouncement {
    /// An announcement of `name`, started at `started_at`, without dependencies.
    pub fn new(name: impl Into<String>, started_at: Timestamp) -> Self {
        ReleaseAnnouncement {
            name: name.into(),
            started_at,
            dependencies: None,
            omitted_dependencies: 0,
        }
    }
}

/// The wire form, with every part bounded while it is read.
#[derive(Deserialize)]
struct ReleaseAnnouncementRepr {
    #[serde(deserialize_with = "bounded::field")]
    name: String,
    started_at: Timestamp,
    #[serde(default, deserialize_with = "dependencies")]
    dependencies: Option<Capped<Dependency>>,
    #[serde(default)]
    omitted_dependencies: u64,
}

impl<'de> Deserialize<'de> for ReleaseAnnouncement {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = ReleaseAnnouncementRepr::deserialize(d)?;
        let (dependencies, cut) = match r.dependencies {
            Some(c) => (Some(c.items), c.omitted),
            None => (None, 0),
        };
        Ok(ReleaseAnnouncement {
            name: r.name,
            started_at: r.started_at,
            dependencies,
            omitted_dependencies: r.omitted_dependencies.saturating_add(cut),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_and_owned_dependencies_compare_equal_and_round_trip() {
        static DEPS: &[Dependency] = &[Dependency::from_static("serde-json", "1.0.1")];
        assert_eq!(DEPS[0], Dependency::new("serde-json".to_string(), "1.0.1".to_string()));
        assert_eq!(DEPS[0].crate_name(), "serde_json");
        let mut a = ReleaseAnnouncement::new("shop@1.0.0", Timestamp::from_millis(5));
        a.dependencies = Some(DEPS.to_vec());
        let json = serde_json::to_string(&a).unwrap();
        assert!(!json.contains("omitted"), "{json}");
        let back: ReleaseAnnouncement = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn dependencies_past_the_cap_are_cut_and_counted_and_strings_bounded() {
        let many: Vec<String> = (0..MAX_DEPENDENCIES + 7)
            .map(|i| format!(r#"{{"name":"c{i}","version":"1.0.{i}"}}"#))
            .collect();
        let json = format!(
            r#"{{"name":"{}","started_at":"2026-01-01T00:00:00Z","dependencies":[{}]}}"#,
            "r".repeat(10_000),
            many.join(",")
        );
        let a: ReleaseAnnouncement = serde_json::from_str(&json).unwrap();
        let deps = a.dependencies.unwrap();
        assert_eq!(deps.len(), MAX_DEPENDENCIES);
        assert_eq!(deps[0].name, "c0");
        assert_eq!(a.omitted_dependencies, 7);
        assert!(a.name.len() <= crate::limits::MAX_FIELD_BYTES, "{}", a.name.len());

        let long = format!(
            r#"{{"name":"x","started_at":"2026-01-01T00:00:00Z","dependencies":[{{"name":"{}","version":"1"}}]}}"#,
            "n".repeat(5000)
        );
        let a: ReleaseAnnouncement = serde_json::from_str(&long).unwrap();
        let name = &a.dependencies.unwrap()[0].name;
        assert!(name.len() <= MAX_DEPENDENCY_FIELD_BYTES && name.ends_with(crate::limits::CUT_MARKER));
    }

    #[test]
    fn dependencies_are_optional() {
        let a: ReleaseAnnouncement =
            serde_json::from_str(r#"{"name":"x","started_at":"2026-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(a.dependencies, None);
        let err = serde_json::from_str::<ReleaseAnnouncement>(r#"{"started_at":"2026-01-01T00:00:00Z"}"#).unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
    }
}
