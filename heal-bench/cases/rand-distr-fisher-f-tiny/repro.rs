use rand_distr::FisherF;

#[test]
fn repro() {
    // rand_distr#39 (0.6.0): parameters too close to zero for the
    // chi-squared parts are an error, not a panic.
    assert!(FisherF::new(5e-324f64, 5e-324f64).is_err());
}
