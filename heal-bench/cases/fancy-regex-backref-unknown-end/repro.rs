use fancy_regex::Regex;

#[test]
fn repro() {
    // fancy-regex#103 (0.11.0): a backref inside the group it refers to,
    // whose end is not known yet (upstream's test).
    let re = Regex::new(r"(([ab]+)\1b)").unwrap();
    assert!(!re.is_match("babab").unwrap());
}
