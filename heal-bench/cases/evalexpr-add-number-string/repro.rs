#[test]
fn repro() {
    assert!(evalexpr::eval("1 + \"a\"").is_err());
    assert!(evalexpr::eval("\"a\" + 1").is_err());
}
