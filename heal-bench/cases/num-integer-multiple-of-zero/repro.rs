extern crate num_integer;

use num_integer::Integer;

#[test]
fn repro() {
    assert!(!Integer::is_multiple_of(&5u32, &0));
    assert!(Integer::is_multiple_of(&0i64, &0));
}
