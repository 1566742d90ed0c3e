#[test]
fn repro() {
    // regex#527 (regex-syntax 0.6.6): a flag group inside a group parses.
    assert!(regex_syntax::Parser::new().parse("((?x))").is_ok());
}
