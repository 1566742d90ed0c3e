// https://github.com/tokio-rs/slab/issues/100 (upstream's test)
#[test]
fn repro() {
    let mut slab: slab::Slab<()> = vec![(1, ())].into_iter().collect();
    assert_eq!(slab.len(), 1);
    assert_eq!(slab.insert(()), 0);
    assert_eq!(slab.insert(()), 2);
    assert_eq!(slab.insert(()), 3);
}
