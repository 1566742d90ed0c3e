//! Context building on a generated repository of 1,000 Rust files: one
//! crate with 20 modules of 48 files each (structs, impls, constants, `use`
//! across modules, unit tests) plus integration tests, and a panic 24 frames
//! deep through different files. Target: ≤ 100 ms per build.
//!
//! Run: `cargo bench -p bugstack-fix --bench context -- --warm-up-time 1 --measurement-time 2`.

// criterion_group!/criterion_main! generate undocumented items.
#![allow(missing_docs)]

#[path = "../tests/it/support/mod.rs"]
mod support;

use std::fmt::Write as _;

use bugstack_core::{Frame, Location};
use bugstack_fix::{Incident, RepoRef, RustContextBuilder, SnippetKind};
use criterion::{criterion_group, criterion_main, Criterion};
use support::{panic_event, Repo};

const MODULES: usize = 20;
const FILES_PER_MODULE: usize = 48;
const DEPTH: usize = 24;

/// The source of module `m{m}::f{f}`; `run_{m}_{f}` calls the next file's
/// `run`, so frames can chain through the crate.
fn file_source(m: usize, f: usize) -> String {
    let (nm, nf) = if f + 1 < FILES_PER_MODULE {
        (m, f + 1)
    } else {
        ((m + 1) % MODULES, 0)
    };
    let (pm, pf) = ((m + 3) % MODULES, (f + 7) % FILES_PER_MODULE);
    let mut s = String::new();
    let _ = writeln!(s, "//! Module {m}/{f}: records and their ledger.\n");
    let _ = writeln!(s, "use std::collections::HashMap;\n");
    let _ = writeln!(s, "use crate::m{nm}::f{nf}::run_{nm}_{nf};");
    let _ = writeln!(s, "use crate::m{pm}::f{pf}::{{Record{pm}_{pf}, LIMIT_{pm}_{pf}}};\n");
    let _ = writeln!(
        s,
        "/// Most entries a ledger keeps.\npub const LIMIT_{m}_{f}: usize = {};\n",
        10 + f
    );
    let _ = writeln!(
        s,
        "/// One record.\n#[derive(Debug, Clone, Default)]\npub struct Record{m}_{f} {{\n    pub id: u64,\n    \
         pub name: String,\n    pub values: Vec<u32>,\n}}\n"
    );
    let _ = writeln!(
        s,
        "/// A ledger of records.\n#[derive(Debug, Default)]\npub struct Ledger{m}_{f} {{\n    \
         entries: HashMap<u64, Record{m}_{f}>,\n}}\n"
    );
    let _ = writeln!(s, "impl Ledger{m}_{f} {{");
    let _ = writeln!(
        s,
        "    /// An empty ledger.\n    pub fn new() -> Self {{\n        Self::default()\n    }}\n"
    );
    let _ = writeln!(
        s,
        "    /// Adds a record, refusing past the limit.\n    pub fn add(&mut self, r: Record{m}_{f}) -> bool {{\n        \
         if self.entries.len() >= LIMIT_{m}_{f} {{\n            return false;\n        }}\n        \
         self.entries.insert(r.id, r);\n        true\n    }}\n"
    );
    let _ = writeln!(
        s,
        "    /// The mean of a record's values.\n    pub fn mean(&self, id: u64) -> u32 {{\n        \
         let r = self.entries.get(&id).cloned().unwrap_or_default();\n        \
         let total: u32 = r.values.iter().sum();\n        \
         let n = r.values.len().min(LIMIT_{m}_{f}) as u32;\n        total / n\n    }}"
    );
    let _ = writeln!(s, "}}\n");
    let _ = writeln!(
        s,
        "/// Runs the step and the next one.\npub fn run_{m}_{f}(depth: usize) -> u32 {{\n    \
         let mut ledger = Ledger{m}_{f}::new();\n    let other = Record{pm}_{pf}::default();\n    \
         ledger.add(Record{m}_{f} {{ id: other.id, name: other.name.clone(), values: vec![1, 2, 3] }});\n    \
         if depth == 0 {{\n        return ledger.mean(7);\n    }}\n    \
         run_{nm}_{nf}(depth - 1) + LIMIT_{pm}_{pf} as u32\n}}\n"
    );
    let _ = writeln!(
        s,
        "#[cfg(test)]\nmod tests {{\n    use super::*;\n\n    #[test]\n    fn mean_of_one() {{\n        \
         let mut l = Ledger{m}_{f}::new();\n        l.add(Record{m}_{f} {{ id: 1, values: vec![4], ..Default::default() }});\n        \
         assert_eq!(l.mean(1), 4);\n    }}\n}}"
    );
    s
}

/// Writes and commits the repository; returns the files the frames go through.
fn generate(repo: &Repo) -> Vec<(String, u32)> {
    let write = |rel: &str, text: &str| repo.write(rel, text);
    write(
        "Cargo.toml",
        "[package]\nname = \"ledger\"\nversion = \"1.0.0\"\nedition = \"2021\"\n",
    );
    let mut lib = String::new();
    for m in 0..MODULES {
        let _ = writeln!(lib, "pub mod m{m};");
        let mut module = String::new();
        for f in 0..FILES_PER_MODULE {
            let _ = writeln!(module, "pub mod f{f};");
            write(&format!("src/m{m}/f{f}.rs"), &file_source(m, f));
        }
        write(&format!("src/m{m}/mod.rs"), &module);
    }
    write("src/lib.rs", &lib);
    let mut files = 2 + MODULES * (FILES_PER_MODULE + 1);
    let mut t = 0;
    while files < 1000 {
        write(
            &format!("tests/it{t}.rs"),
            &format!(
                "use ledger::m0::f{t}::Ledger0_{t};\n\n#[test]\nfn mean_of_empty_is_guarded() {{\n    \
                 assert_eq!(Ledger0_{t}::new().mean(3), 0);\n}}\n"
            ),
        );
        t += 1;
        files += 1;
    }
    repo.commit("ledger 1.0.0");
    repo.git(&["tag", "v1.0.0"]);
    // The panic: `mean` of the innermost step divides by zero; each outer
    // frame is the `run_*` of the previous file.
    let mean_line = |src: &str| src.lines().position(|l| l.contains("total / n")).expect("line") as u32 + 1;
    let run_line = |src: &str| {
        src.lines()
            .position(|l| l.contains("run_") && l.contains("(depth - 1)"))
            .expect("line") as u32
            + 1
    };
    let mut stack = Vec::new();
    let (m0, f0) = (7, 13);
    let inner = file_source(m0, f0 + DEPTH % FILES_PER_MODULE);
    stack.push((
        format!("src/m{m0}/f{}.rs", f0 + DEPTH % FILES_PER_MODULE),
        mean_line(&inner),
    ));
    for d in (0..DEPTH).rev() {
        let f = f0 + d;
        stack.push((format!("src/m{m0}/f{f}.rs"), run_line(&file_source(m0, f))));
    }
    stack
}

fn incident(stack: &[(String, u32)]) -> Incident {
    let mut event = panic_event("attempt to divide by zero");
    event.release = Some("1.0.0".into());
    event.frames.push(Frame {
        function: Some("core::panicking::panic_const::panic_const_div_by_zero".into()),
        file: Some("/rustc/90b35a6239c3d8bdabc530a6a0816f7ff89a0aaf/library/core/src/panicking.rs".into()),
        line: Some(175),
        ..Frame::default()
    });
    for (path, line) in stack {
        event.frames.push(Frame {
            function: Some(format!(
                "ledger::{}",
                path.trim_start_matches("src/")
                    .trim_end_matches(".rs")
                    .replace('/', "::")
            )),
            file: Some(format!("/home/ci/build/ledger/{path}")),
            line: Some(*line),
            in_app: true,
            ..Frame::default()
        });
    }
    event.location = Some(Location {
        file: stack[0].0.clone(),
        line: stack[0].1,
        column: Some(9),
    });
    Incident::from_event("bench", event)
}

fn bench(c: &mut Criterion) {
    let dir = Repo::new();
    let stack = generate(&dir);
    let inc = incident(&stack);
    let repo = RepoRef::new(dir.path());
    let builder = RustContextBuilder::new();
    let ctx = builder.build_blocking(&inc, &repo).expect("context builds");
    assert!(ctx.warnings.is_empty(), "{:?}", ctx.warnings);
    assert_eq!(ctx.snippets[0].kind, SnippetKind::FailingFunction);
    assert_eq!(
        ctx.snippets[0].item.as_deref(),
        Some(format!("Ledger7_{}::mean", 13 + DEPTH).as_str())
    );
    assert!(ctx.frames.len() > DEPTH);
    for kind in [
        SnippetKind::Caller,
        SnippetKind::Type,
        SnippetKind::Constant,
        SnippetKind::Test,
    ] {
        assert!(ctx.snippets.iter().any(|s| s.kind == kind), "no {kind:?} snippet");
    }
    c.bench_function("context/1000_files_frame_depth_24", |b| {
        b.iter(|| builder.build_blocking(&inc, &repo).expect("context builds"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
