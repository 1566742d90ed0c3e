//! The Markdown report (pull request body): every section is there, hostile
//! event text cannot break the layout, inject HTML or mention people, and no
//! token or scrubbed value ever appears — also when the report carries real
//! check output from the WorktreeValidator.

use crate::support;

use std::collections::BTreeMap;

use bugstack_core::{Event, Location, Scrubber, Timestamp};
use bugstack_fix::{
    render_markdown, score, Attempt, CheckResult, CheckSpec, CheckStatus, Decision, DecisionKind, FixContext,
    FixReport, Incident, Patch, Policy, RegressionResult, Validation, Validator,
};
use support::{context_at, described, edit_patch, request_panic_event, target_frame, validator, Repo, T0};

const BEFORE: &str = "fn average(v: &[u64]) -> u64 {\n    v.iter().sum::<u64>() / v.len() as u64\n}\n";
const AFTER: &str =
    "fn average(v: &[u64]) -> u64 {\n    if v.is_empty() {\n        return 0;\n    }\n    v.iter().sum::<u64>() / v.len() as u64\n}\n";

fn event(message: &str) -> Event {
    let mut e = request_panic_event(message, "core::panicking::Panic", "POST", "/carts/{id}/checkout");
    e.location = Some(Location {
        file: "src/cart.rs".into(),
        line: 2,
        column: Some(5),
    });
    e.release = Some("shop@1.4.2".into());
    e.count = 17;
    e.first_seen = Some(T0);
    e.last_seen = Some(Timestamp::from_millis(1_700_003_600_000));
    e
}

fn patch() -> Patch {
    described(
        edit_patch("src/cart.rs", BEFORE, AFTER),
        "divide-by-zero",
        "`average` divides by the length of an empty slice.",
        "Return 0 for an empty cart before dividing.",
    )
}

fn check(name: &str, status: CheckStatus, base: CheckStatus, output: &str) -> CheckResult {
    CheckResult {
        verdict: None,
        name: name.into(),
        command: format!("cargo {name}"),
        status,
        base_status: Some(base),
        exit_code: Some(i32::from(status != CheckStatus::Passed)),
        duration_ms: 1234,
        output: output.into(),
    }
}

fn report(event: Event, failing_output: &str, passing: Validation) -> FixReport {
    let incident = Incident::from_event("42", event);
    let ctx = FixContext {
        tokens_used: 10,
        ..context_at(
            incident.clone(),
            "/repo",
            "0123456789abcdef0123456789abcdef01234567",
            target_frame("src/cart.rs", 2, Some(5), Some("shop::cart::average")),
            BEFORE,
        )
    };
    let fix = patch();
    let confidence = score(&ctx, &fix, &passing, 2, &Default::default());
    let failed = Validation {
        sandbox: None,
        checks: vec![
            check("build", CheckStatus::Passed, CheckStatus::Passed, "Compiling shop"),
            check("test", CheckStatus::Failed, CheckStatus::Passed, failing_output),
        ],
        regression: None,
    };
    let decision = Decision {
        kind: DecisionKind::Review,
        reason: "auto_merge is off in bugstack.toml: left for review".into(),
    };
    FixReport {
        attempts: vec![
            Attempt {
                number: 1,
                patch: Some(fix.clone()),
                rejected: None,
                validation: Some(failed),
                duration_ms: 2000,
            },
            Attempt {
                number: 2,
                patch: Some(fix.clone()),
                rejected: None,
                validation: Some(passing),
                duration_ms: 1000,
            },
        ],
        fix: Some(fix),
        confidence: Some(confidence),
        finished_at: Timestamp::from_millis(1_700_004_010_000),
        ..FixReport::new(ctx, "template", decision, Timestamp::from_millis(1_700_004_000_000))
    }
}

fn green() -> Validation {
    Validation {
        sandbox: None,
        checks: vec![
            check("build", CheckStatus::Passed, CheckStatus::Passed, "Compiling shop"),
            check(
                "test",
                CheckStatus::Passed,
                CheckStatus::Passed,
                "test result: ok. 9 passed",
            ),
            check(
                "clippy",
                CheckStatus::Failed,
                CheckStatus::Failed,
                "warning: legacy lint",
            ),
        ],
        regression: Some(RegressionResult {
            name: "cart::tests::empty_average".into(),
            fails_on_base: true,
            passes_with_fix: true,
            output: "attempt to divide by zero".into(),
        }),
    }
}

/// The body's lines outside fenced code blocks.
fn outside_fences(md: &str) -> Vec<&str> {
    let mut fence: Option<String> = None;
    let mut out = Vec::new();
    for line in md.lines() {
        let ticks: String = line.chars().take_while(|&c| c == '`').collect();
        match &fence {
            None if ticks.len() >= 3 => fence = Some(ticks),
            None => out.push(line),
            Some(f) if ticks.len() >= f.len() && line.trim_start_matches('`').trim().is_empty() => fence = None,
            Some(_) => {}
        }
    }
    assert!(fence.is_none(), "unclosed fence in:\n{md}");
    out
}

#[test]
fn markdown_has_every_section() {
    let md = render_markdown(&report(
        event("attempt to divide by zero"),
        "thread panicked at src/cart.rs",
        green(),
    ));
    for needle in [
        "attempt to divide by zero",
        "src/cart.rs\\:2\\:5",
        "| Occurrences | 17 |",
        "| First seen | 2023-11-14T22:13:20.000Z |",
        "| Last seen | 2023-11-14T23:13:20.000Z |",
        "POST /carts/{id}/checkout",
        "shop\\@\u{200B}1.4.2",
        "### Root cause",
        "divides by the length of an empty slice",
        "```diff\ndiff --git a/src/cart.rs b/src/cart.rs",
        "+    if v.is_empty() {",
        "#### Attempt 1: failed",
        "#### Attempt 2: passed (accepted)",
        "❌ failed (caused by the fix)",
        "⚠️ failed (already failing on the base commit)",
        "<details><summary>Output of test (failed, command cargo test)</summary>",
        "thread panicked at src/cart.rs",
        "fails on the base commit, passes with the fix",
        "| Signal | Observed | Contribution |",
        "| checks\\_green | all checks passed | +0.35 |",
        "| regression\\_test |",
        "### Confidence: ",
        "### Decision: open for review",
        "auto\\_merge is off",
    ] {
        assert!(md.contains(needle), "missing {needle:?} in:\n{md}");
    }
    let outside = outside_fences(&md);
    let opened = outside.iter().filter(|l| l.starts_with("<details>")).count();
    let closed = outside.iter().filter(|l| **l == "</details>").count();
    assert_eq!((opened, closed), (7, 7), "{md}");
}

#[test]
fn hostile_event_text_cannot_break_the_layout() {
    let hostile = "boom ``` </details> <script>alert(1)</script> @admin please see #1 \
                   [click](http://evil.example) ![x](http://evil.example/p.png) <img src=x onerror=alert(1)> | cell |\u{202E}";
    let output = "```\n</details>\n<script>alert(2)</script>\n@admin\n```````\n# Heading";
    let mut ev = event(hostile);
    ev.message = format!("{hostile}\nsecond line ```` </details>");
    let md = render_markdown(&report(ev, output, green()));
    let outside = outside_fences(&md).join("\n");
    for bad in [
        "<script",
        "<img",
        "@admin",
        "#1 ",
        "](http",
        "![",
        "\u{202E}",
        "``` </details>",
        "\n# Heading",
    ] {
        assert!(!outside.contains(bad), "{bad:?} outside code blocks:\n{outside}");
    }
    let opened = outside.lines().filter(|l| l.starts_with("<details>")).count();
    let closed = outside.lines().filter(|l| *l == "</details>").count();
    assert_eq!(opened, closed, "{md}");
    assert!(outside.contains("&lt;script&gt;"), "{outside}");
    // The incident table still has exactly two cells per row.
    let row = outside.lines().find(|l| l.starts_with("| Error |")).unwrap();
    assert_eq!(row.matches('|').count() - row.matches("\\|").count(), 3, "{row}");
}

#[test]
fn huge_outputs_are_cut_to_fit_a_pull_request() {
    let huge = "x".repeat(2_000_000);
    let mut passing = green();
    passing.checks[2].output = huge.clone();
    let md = render_markdown(&report(event("boom"), &huge, passing));
    assert!(md.chars().count() <= bugstack_fix::MAX_BODY_CHARS, "{}", md.len());
    outside_fences(&md);
    assert!(md.contains("### Decision"));
}

#[tokio::test]
async fn no_token_or_scrubbed_value_ever_appears() {
    const TOKEN: &str = "ghp_R3p0rtT0k3nAbCdEfGhIjKlMnOpQrStUv12";
    const MODEL_KEY: &str = "sk-live-M0delK3yAbCdEfGhIjKlMnOpQr";
    std::env::set_var("BUGSTACK_REPORT_TEST_FORGE_TOKEN", TOKEN);
    std::env::set_var("BUGSTACK_REPORT_TEST_MODEL_KEY", MODEL_KEY);

    // A scrubbed event that carried secrets in its message and headers.
    let mut ev = event(&format!(
        "login failed for alice@example.com with password=hunter2 and key {MODEL_KEY}"
    ));
    ev.request.as_mut().unwrap().headers = BTreeMap::from([
        ("authorization".to_string(), format!("Bearer {TOKEN}")),
        ("x-api-key".into(), "k-123456789".into()),
    ]);
    Scrubber::default().scrub_event(&mut ev);

    // Real check output from a check that tries to print every secret it can.
    let repo = Repo::with_files(&[("src/cart.rs", BEFORE)], "base");
    let work = tempfile::TempDir::new().unwrap();
    let validator = validator(work.path());
    let mut policy = Policy {
        checks: vec![CheckSpec::new(
            "leak",
            "env; echo \"forge=$BUGSTACK_REPORT_TEST_FORGE_TOKEN model=$BUGSTACK_REPORT_TEST_MODEL_KEY\"; \
             echo 'password=hunter2 Authorization: Bearer abcdefghijklmnop'; exit 1",
        )],
        ..Policy::default()
    };
    policy.forge.token_env = "BUGSTACK_REPORT_TEST_FORGE_TOKEN".into();
    policy.model.api_key_env = Some("BUGSTACK_REPORT_TEST_MODEL_KEY".into());
    let mut r = report(ev, "", green());
    r.context.repo_root = repo.path().to_path_buf();
    r.context.revision = repo.head();
    let validation = validator.validate(&r.context, &patch(), &policy).await.unwrap();
    assert_eq!(validation.checks[0].status, CheckStatus::Failed);
    r.attempts[0].validation = Some(validation);

    let md = render_markdown(&r);
    let json = r.to_json();
    for secret in [
        TOKEN,
        MODEL_KEY,
        "hunter2",
        "alice@example.com",
        "k-123456789",
        "abcdefghijklmnop",
    ] {
        assert!(!md.contains(secret), "{secret} in markdown:\n{md}");
        assert!(!json.contains(secret), "{secret} in JSON report");
    }
    assert!(md.contains("forge= model="), "the check ran without the secrets:\n{md}");
}
