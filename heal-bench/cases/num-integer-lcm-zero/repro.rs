extern crate num_integer;

use num_integer::Integer;

#[test]
fn repro() {
    // 0.1.40: lcm(0, 0) is 0.
    assert_eq!(0u32.lcm(&0), 0);
}
