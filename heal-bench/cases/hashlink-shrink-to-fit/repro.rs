use hashlink::LinkedHashMap;

#[test]
fn repro() {
    // 0.8.0: shrink_to_fit on a non-empty map keeps its entries in order.
    let mut map = LinkedHashMap::new();
    for i in 0..100 {
        map.insert(i, i * 10);
    }
    for i in 10..100 {
        map.remove(&i);
    }
    map.shrink_to_fit();
    assert_eq!(map.len(), 10);
    assert_eq!(map.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>(), (0..10).map(|i| (i, i * 10)).collect::<Vec<_>>());
    assert_eq!(map.get(&7), Some(&70));
}
