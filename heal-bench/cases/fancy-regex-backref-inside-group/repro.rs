use fancy_regex::Regex;

#[test]
fn repro() {
    // 0.20.1: the backref sees the group's previous capture, as in PCRE.
    let re = Regex::new(r"(?:(\1|a)b){2}").unwrap();
    assert!(re.is_match("abab").unwrap());
}
