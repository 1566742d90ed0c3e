use twox_hash::XxHash32;

#[test]
fn repro() {
    // seed + PRIME32_5 == u32::MAX: adding the input's length overflows.
    // The specification adds modulo 2^32 (upstream's own test value).
    let seed = u32::MAX - 0x1656_67B1;
    assert_eq!(XxHash32::oneshot(seed, b"x"), 0x9010_bbab);
}
