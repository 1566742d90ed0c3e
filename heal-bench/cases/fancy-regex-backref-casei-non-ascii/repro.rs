use fancy_regex::Regex;

#[test]
fn repro() {
    let re = Regex::new(r"(?i)(.+)\1").unwrap();
    assert!(re.is_match("\u{e4}b\u{c4}B").unwrap());
    assert!(!re.is_match("\u{e4}\u{df}").unwrap());
}
