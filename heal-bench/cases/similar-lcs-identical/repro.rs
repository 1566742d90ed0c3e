use similar::algorithms::{lcs, Capture};

#[test]
fn repro() {
    let a = [0usize, 1, 2, 3, 4, 4, 4, 5];
    let mut d = Capture::new();
    lcs::diff(&mut d, &a, 0..a.len(), &a, 0..a.len()).unwrap();
    assert_eq!(d.ops().len(), 1);
}
