use rust_decimal::Decimal;

#[test]
fn repro() {
    let d = Decimal::new(15, 1);
    let s = format!("{:.31}", d);
    assert_eq!(s, "1.5000000000000000000000000000000");
}
