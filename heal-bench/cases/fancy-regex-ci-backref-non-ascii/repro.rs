use fancy_regex::Regex;

#[test]
fn repro() {
    // 0.16.2: a case-insensitive backref matches non-ASCII text (upstream's test).
    let re = Regex::new(r"(?i)(?<word>\w+)\s+\k<word>").unwrap();
    let m = re.find("Greek : δ Δ").unwrap().unwrap();
    assert_eq!((m.start(), m.end()), (8, 13));
}
