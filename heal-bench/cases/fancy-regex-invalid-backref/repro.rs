use fancy_regex::Regex;

#[test]
fn repro() {
    // fancy-regex#174 (0.16.1): a backref to a group that does not exist is
    // a compile error, never a regex that panics when matching.
    match Regex::new(r"a(a)\2") {
        Err(_) => {}
        Ok(re) => panic!("compiled; matching gives {:?}", re.is_match("aa")),
    }
}
