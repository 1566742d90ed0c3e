//! `docs/policy.md` stays true: every TOML example in it parses, the
//! "defaults, spelled out" example is the defaults, the documented Rust
//! default checks are the real ones, and every key of the schema is
//! documented.

use bugstack_fix::{CheckSpec, Policy};

fn doc() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/policy.md")).unwrap()
}

fn toml_blocks(doc: &str) -> Vec<String> {
    doc.split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("\n```").next().unwrap().to_string())
        .collect()
}

#[test]
fn every_example_parses() {
    let blocks = toml_blocks(&doc());
    assert!(blocks.len() >= 4, "{blocks:?}");
    for b in &blocks {
        Policy::from_toml_str(b).unwrap_or_else(|e| panic!("{e}\n{b}"));
    }
    let defaults = blocks
        .iter()
        .find(|b| b.starts_with("confidence_threshold = 0.8"))
        .unwrap();
    assert_eq!(Policy::from_toml_str(defaults).unwrap(), Policy::default());
    let rust = blocks.iter().find(|b| b.contains("name = \"fmt\"")).unwrap();
    assert_eq!(Policy::from_toml_str(rust).unwrap().checks, CheckSpec::rust_defaults());
}

#[test]
fn every_key_is_documented() {
    let doc = doc();
    let value = serde_json::to_value(Policy::default()).unwrap();
    let mut keys: Vec<String> = Vec::new();
    for (k, v) in value.as_object().unwrap() {
        keys.push(k.clone());
        if let Some(table) = v.as_object() {
            keys.extend(table.keys().cloned());
        }
    }
    let check = serde_json::to_value(CheckSpec::new("n", "c")).unwrap();
    keys.extend(check.as_object().unwrap().keys().cloned());
    for k in keys {
        assert!(
            doc.contains(&format!("| `{k}` |")),
            "key {k} is not in the docs' tables"
        );
    }
}
