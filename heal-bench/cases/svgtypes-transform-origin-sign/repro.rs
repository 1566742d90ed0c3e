use std::str::FromStr;
use svgtypes::TransformOrigin;

#[test]
fn repro() {
    // svgtypes#65 (0.16.2): a lone sign is an error (upstream's test input).
    let err = TransformOrigin::from_str("-").unwrap_err();
    assert_eq!(err.to_string(), "transform origin has invalid parameters");
}
