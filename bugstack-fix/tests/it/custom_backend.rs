//! The custom-stages example (`examples/custom_backend.rs`, shown in the
//! crate docs) runs, and both of its pipelines fix the incident.

#[path = "../../examples/custom_backend.rs"]
#[allow(dead_code)] // its `main` is for `cargo run --example custom_backend`
mod example;

#[tokio::test]
async fn the_custom_backend_example_fixes_the_incident_both_ways() {
    let [rule, llm] = example::run().await.expect("the example runs");
    assert_eq!(rule.generator, "rule:unwrap-to-default");
    assert_eq!(llm.generator, "llm:in-process:scripted-expert");
    let (Some(by_rule), Some(by_llm)) = (&rule.fix, &llm.fix) else {
        panic!("both pipelines fix the incident");
    };
    assert!(
        by_rule.diff.contains("+    s.trim().parse().unwrap_or_default()"),
        "{}",
        by_rule.diff
    );
    assert!(
        by_llm.diff.contains("+    s.trim().parse().unwrap_or(0)"),
        "{}",
        by_llm.diff
    );
    // The model's vague first answer was rejected and fed back.
    assert_eq!(llm.attempts.len(), 2);
}
