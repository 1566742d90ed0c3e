#[test]
fn repro() {
    // regex#555 (regex-syntax 0.6.6): a repetition of a bare flag group is
    // the error "repetition operator missing expression".
    let err = regex_syntax::Parser::new().parse("(?m){1,1}").unwrap_err();
    assert!(err.to_string().contains("repetition operator missing expression"), "{err}");
}
