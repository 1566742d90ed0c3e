use fancy_regex::Regex;

#[test]
fn repro() {
    let re = Regex::new("(?<n>a){0}").unwrap();
    let names: Vec<_> = re.capture_names().collect();
    assert_eq!(names.len(), 2);
}
