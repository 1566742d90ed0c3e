use rust_decimal::prelude::*;

#[test]
fn repro() {
    let _ = Decimal::ZERO.ln();
}
