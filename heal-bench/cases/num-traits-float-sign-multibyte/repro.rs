extern crate num_traits;

use num_traits::Num;

#[test]
fn repro() {
    // 0.2.9: an invalid multibyte sign character is an error (upstream's test).
    assert!(<f32 as Num>::from_str_radix("™0.2", 10).is_err());
}
