extern crate tinytemplate;

use tinytemplate::TinyTemplate;

#[test]
fn repro() {
    let mut tt = TinyTemplate::new();
    tt.add_template("t", r"hello \{world}").unwrap();
    let out = tt.render("t", &()).unwrap();
    assert_eq!(out, "hello {world}");
}
