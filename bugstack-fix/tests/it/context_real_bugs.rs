//! The context builder on real panics from published crates (the study set
//! found by [`support::real_bugs::dir`]). Each case's
//! `crate/` is copied into a temp git repository (nothing is copied into
//! this project) and an event is built from its recorded `panic_location`.
//! Skipped, with a notice, when the folder is absent (a failure under
//! `CI=true`).

use crate::support;

use bugstack_fix::{RepoRef, RustContextBuilder, SnippetKind};
use support::rust_context::{frame, incident, std_frames_then};
use support::{copy_dir, real_bugs, Repo};

/// The function each known case panics in (found by reading the source).
fn expected_function(case: &str) -> Option<&'static str> {
    Some(match case {
        "strsim-jaro-overflow" => "jaro",
        "num-bigint-mul-panic" => "mac3",
        "unicode-names2-long-name-slice" => "character",
        "clokwerk-interval-div-zero" => "Interval::prev",
        "subst-dollar-at-end-oob" => "Variable::parse",
        _ => return None,
    })
}

#[test]
fn real_panics_target_the_right_file_line_and_function() {
    let Some(dir) = real_bugs::dir() else {
        return;
    };
    let cases = real_bugs::cases(&dir);
    assert!(!cases.is_empty());
    for case in &cases {
        let name = case["name"].as_str().expect("name");
        let krate = case["crate"].as_str().expect("crate");
        let version = case["buggy"].as_str().unwrap_or("0.0.0");
        let location = case["panic_location"].as_str().expect("panic_location");
        let mut parts = location.rsplitn(3, ':');
        let (_col, line, file) = (parts.next(), parts.next(), parts.next());
        let (file, line): (&str, u32) = (file.expect("file"), line.expect("line").parse().expect("line number"));

        let repo = Repo::new();
        copy_dir(
            &dir.join("cases").join(name).join("crate"),
            repo.path(),
            &["target", ".git"],
        );
        let commit = repo.commit(&format!("{krate} {version}"));
        repo.git(&["tag", &format!("v{version}")]);

        // The SDK reports the crate's own frames with absolute build paths;
        // the panic location is relative, as rustc records it for the package.
        let function = format!(
            "{}::{}",
            krate.replace('-', "_"),
            expected_function(name).unwrap_or("f")
        );
        let frames = std_frames_then([frame(
            &function,
            &format!("/build/{krate}-{version}/{file}"),
            line,
            false,
        )]);
        let inc = incident(
            case["panic_message"].as_str().unwrap_or("panic"),
            Some((file, line)),
            frames,
            Some(version),
        );
        let started = std::time::Instant::now();
        let ctx = RustContextBuilder::new()
            .build_blocking(&inc, &RepoRef::new(repo.path()))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(ctx.revision, commit, "{name}");
        assert!(
            ctx.warnings.iter().all(|w| w.contains("budget")),
            "{name}: {:?}",
            ctx.warnings
        );
        let target = ctx.target().expect("target");
        assert_eq!((target.path.as_str(), target.line), (file, line), "{name}");
        let failing = &ctx.snippets[0];
        assert_eq!(failing.kind, SnippetKind::FailingFunction, "{name}");
        assert_eq!(failing.path, file, "{name}");
        if let Some(expected) = expected_function(name) {
            assert_eq!(failing.item.as_deref(), Some(expected), "{name}");
        }
        assert!(failing.start_line <= line && line <= failing.end_line, "{name}");
        let source = ctx.file(file).expect("file text");
        let panic_line = source.lines().nth(line as usize - 1).expect("line exists").trim();
        assert!(
            failing.text.contains(panic_line),
            "{name}: {panic_line:?} not in snippet"
        );
        assert!(
            ctx.snippets
                .iter()
                .any(|s| s.kind == SnippetKind::Manifest && s.path == "Cargo.toml"),
            "{name}"
        );
        assert!(ctx.tokens_used <= ctx.token_budget, "{name}");
        println!(
            "{name}: {} snippets, {} tokens, built in {:?}",
            ctx.snippets.len(),
            ctx.tokens_used,
            started.elapsed()
        );
        for s in &ctx.snippets {
            println!(
                "  {:?} {} {}:{}-{}",
                s.kind,
                s.item.as_deref().unwrap_or("-"),
                s.path,
                s.start_line,
                s.end_line
            );
        }
    }
}
