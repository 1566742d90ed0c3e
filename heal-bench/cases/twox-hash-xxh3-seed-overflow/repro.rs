use twox_hash::XxHash3_64;

#[test]
fn repro() {
    // The specification adds the seed modulo 2^64 (value from the fixed release).
    assert_eq!(XxHash3_64::oneshot_with_seed(u64::MAX, b"ab"), 9_782_581_615_853_299_280);
}
