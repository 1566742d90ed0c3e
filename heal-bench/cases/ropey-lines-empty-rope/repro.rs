extern crate ropey;

use ropey::Rope;

#[test]
fn repro() {
    let rope = Rope::from_str("");
    let lines: Vec<String> = rope.lines().map(|l| l.to_string()).collect();
    assert_eq!(lines, vec![String::new()]);
}
