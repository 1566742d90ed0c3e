extern crate ropey;

use ropey::Rope;

#[test]
fn repro() {
    // Two texts of the same byte length whose chunk boundaries are not
    // mutually aligned at char boundaries: the first chunk of `a`'s slice
    // ends one byte before `b`'s, right before the two-byte `é`.
    let a = format!("z{}é{}", "x".repeat(983), "y".repeat(2000));
    let b = format!("{}ab{}", "x".repeat(983), "y".repeat(2000));
    let (ra, rb) = (Rope::from_str(&a), Rope::from_str(&b));
    assert!(ra.slice(1..) != rb.slice(..));
    assert!(ra.slice(1..) == Rope::from_str(&a[1..]).slice(..));
}
