use fancy_regex::Regex;

#[test]
fn repro() {
    // 0.13.0: an unclosed conditional is a parse error (upstream's test input).
    assert!(Regex::new(r"(?()^").is_err());
}
