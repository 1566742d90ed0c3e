#[test]
fn repro() {
    // textwrap#390: an escape sequence followed by a multibyte character.
    assert_eq!(textwrap::fill("\u{1b}!Ͽ", 10), "\u{1b}!Ͽ");
}
