use rust_decimal::prelude::*;

#[test]
fn repro() {
    // 1.14.3: ln of zero returns zero, as ln of a negative number does.
    assert_eq!(Decimal::ZERO.ln(), Decimal::ZERO);
}
