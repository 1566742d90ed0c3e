use similar::algorithms::{lcs, Capture};

#[test]
fn repro() {
    let old = [1, 2, 1];
    let new = [1, 2, 1, 2, 1];
    let mut d = Capture::new();
    lcs::diff(&mut d, &old, 0..old.len(), &new, 0..new.len()).unwrap();
}
