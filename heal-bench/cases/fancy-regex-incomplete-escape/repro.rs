use fancy_regex::Regex;

#[test]
fn repro() {
    assert!(Regex::new("\\x").is_err());
    assert!(Regex::new("a\\").is_err());
}
