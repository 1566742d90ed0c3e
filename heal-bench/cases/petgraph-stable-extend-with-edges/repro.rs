use petgraph::stable_graph::StableGraph;

#[test]
fn repro() {
    let mut g = StableGraph::<(), ()>::new();
    let a = g.add_node(());
    g.remove_node(a);
    g.extend_with_edges(&[(0, 1), (1, 2)]);
    assert_eq!(g.edge_count(), 2);
}
