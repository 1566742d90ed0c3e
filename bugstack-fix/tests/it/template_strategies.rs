//! Unit-level tests of the template generator's strategy choice: the same
//! panic gets a different fix depending on the enclosing function's
//! signature, edits touch only the panicking span, and retries move on to
//! the next strategy.

use crate::support;

use bugstack_fix::{Feedback, FixGenerator, Patch, TemplateGenerator};
use support::template::{apply, context, PATH};

/// 1-based column of `needle` on 1-based `line` of `src`.
fn col(src: &str, line: u32, needle: &str) -> u32 {
    let l = src.lines().nth(line as usize - 1).unwrap();
    l[..l
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not on line {line}: {l:?}"))]
        .chars()
        .count() as u32
        + 1
}

fn patches(src: &str, line: u32, needle: &str, msg: &str) -> Vec<Patch> {
    let ctx = context(PATH, src, line, Some(col(src, line, needle)), msg);
    TemplateGenerator::new().candidates(&ctx).unwrap()
}

/// The best fix's new file text.
fn fix(src: &str, line: u32, needle: &str, msg: &str) -> String {
    let p = &patches(src, line, needle, msg)[0];
    apply(src, p)
}

const NONE: &str = "called `Option::unwrap()` on a `None` value";
const ERR: &str = "called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }";

#[test]
fn unwrap_none_in_option_fn_propagates_with_question_mark() {
    let src = "fn first_even(v: &[u32]) -> Option<u32> {\n    let x = v.iter().find(|n| *n % 2 == 0).unwrap();\n    Some(*x)\n}\n";
    let out = fix(src, 2, "unwrap", NONE);
    assert_eq!(out, src.replace(".unwrap();", "?;"));
    let p = &patches(src, 2, "unwrap", NONE)[0];
    assert_eq!(p.class.as_deref(), Some("unwrap-none"));
    assert_eq!(p.generator, "template");
    assert!(p.root_cause.contains("was `None` in `first_even`"), "{}", p.root_cause);
    assert!(p.explanation.contains("returns an `Option`"), "{}", p.explanation);
}

#[test]
fn unwrap_none_in_u32_fn_returns_zero_early() {
    let src = "fn first_even(v: &[u32]) -> u32 {\n    let x = v.iter().find(|n| *n % 2 == 0).unwrap();\n    *x\n}\n";
    let out = fix(src, 2, "unwrap", NONE);
    assert_eq!(
        out,
        "fn first_even(v: &[u32]) -> u32 {\n    let Some(x) = v.iter().find(|n| *n % 2 == 0) else {\n        return 0;\n    };\n    *x\n}\n"
    );
}

#[test]
fn unwrap_none_in_unit_fn_returns_and_keeps_type_annotation() {
    let src = "fn log_first(v: &[u32]) {\n    let x: &u32 = v.first().unwrap();\n    println!(\"{x}\");\n}\n";
    let out = fix(src, 2, "unwrap", NONE);
    assert!(
        out.contains("    let Some(x): Option<&u32> = v.first() else {\n        return;\n    };\n"),
        "{out}"
    );
}

#[test]
fn unwrap_none_nested_in_expression_binds_before_the_statement() {
    let src = "fn total(m: &std::collections::HashMap<u32, u32>) -> u32 {\n    let t = 1 + m.get(&3).unwrap() * 2;\n    t\n}\n";
    let out = fix(src, 2, "unwrap", NONE);
    assert_eq!(
        out,
        "fn total(m: &std::collections::HashMap<u32, u32>) -> u32 {\n    let Some(value) = m.get(&3) else {\n        return 0;\n    };\n    let t = 1 + value * 2;\n    t\n}\n"
    );
}

#[test]
fn unwrap_none_in_result_fn_uses_ok_or_when_the_error_is_writable() {
    let src =
        "fn port(v: &[&str]) -> Result<u16, String> {\n    let p = v.first().unwrap();\n    Ok(p.len() as u16)\n}\n";
    let out = fix(src, 2, "unwrap", NONE);
    assert!(
        out.contains("let p = v.first().ok_or_else(|| \"`first()` returned no value\".to_string())?;"),
        "{out}"
    );
    // A new error, written from the panic: nothing borrowed.
    assert!(patches(src, 2, "unwrap", NONE)
        .iter()
        .all(|p| p.borrowed_error.is_none()));
}

#[test]
fn result_fn_with_opaque_error_reuses_an_existing_error_return() {
    let src = "enum E { Empty }\nfn head(v: &[u8]) -> Result<u8, E> {\n    if v.len() > 100 {\n        return Err(E::Empty);\n    }\n    let h = v.first().unwrap();\n    Ok(*h)\n}\n";
    let ps = patches(src, 6, "unwrap", NONE);
    // `E::Empty` names none of the panic's words: the fixes returning it
    // say it is borrowed; the default-value fix returns no error.
    let borrowed: Vec<Option<&str>> = ps.iter().map(|p| p.borrowed_error.as_deref()).collect();
    assert_eq!(borrowed, [Some("E::Empty"), Some("E::Empty"), None], "{ps:?}");
    // First the function's error through `?`, then the early return.
    assert!(
        apply(src, &ps[0]).contains("    let h = v.first().ok_or(E::Empty)?;\n"),
        "{}",
        ps[0].diff
    );
    let out = apply(src, &ps[1]);
    assert!(
        out.contains("    let Some(h) = v.first() else {\n        return Err(E::Empty);\n    };\n"),
        "{out}"
    );
}

#[test]
fn unwrap_inside_a_closure_cannot_return_and_falls_back_to_default() {
    let src = "fn sum(v: &[&str]) -> u32 {\n    v.iter().map(|x| x.parse::<u32>().unwrap()).sum()\n}\n";
    let ps = patches(src, 2, "unwrap", ERR);
    assert_eq!(ps[0].class.as_deref(), Some("parse-unwrap"));
    assert!(apply(src, &ps[0]).contains("x.parse::<u32>().unwrap_or_default()"));
    assert_eq!(ps.len(), 1, "no `?` or early return from inside a closure");
}

#[test]
fn parse_unwrap_in_result_fn_propagates() {
    let src = "fn parse(s: &str) -> Result<u32, Box<dyn std::error::Error>> {\n    let n = s.trim().parse::<u32>().unwrap();\n    Ok(n)\n}\n";
    assert_eq!(fix(src, 2, "unwrap", ERR), src.replace(".unwrap();", "?;"));
    let s2 = src.replace("Box<dyn std::error::Error>", "String");
    assert!(fix(&s2, 2, "unwrap", ERR).contains(".parse::<u32>().map_err(|e| e.to_string())?;"));
    let s3 = src
        .replace("Result<u32, Box<dyn std::error::Error>>", "Option<u32>")
        .replace("Ok(n)", "Some(n)");
    assert!(fix(&s3, 2, "unwrap", ERR).contains(".parse::<u32>().ok()?;"));
}

#[test]
fn expect_with_a_custom_message_is_recognised_from_the_syntax() {
    let src = "fn name(v: &[String]) -> Option<usize> {\n    let n = v.first().expect(\"names are never empty\");\n    Some(n.len())\n}\n";
    let ps = patches(src, 2, "expect", "names are never empty");
    assert_eq!(ps[0].class.as_deref(), Some("unwrap-none"));
    assert!(apply(src, &ps[0]).contains("let n = v.first()?;"));
    let ctx = context(PATH, src, 2, Some(col(src, 2, "expect")), "something else entirely");
    let err = TemplateGenerator::new().candidates(&ctx).unwrap_err();
    assert!(err.to_string().contains("unrecognised panic message"), "{err}");
}

const OOB: &str = "index out of bounds: the len is 3 but the index is 3";

#[test]
fn index_in_option_fn_uses_get_question_mark() {
    let src = "fn at(v: &[u32], i: usize) -> Option<u32> {\n    let x = v[i] + 1;\n    Some(x)\n}\n";
    assert_eq!(fix(src, 2, "v[i]", OOB), src.replace("v[i] + 1", "*v.get(i)? + 1"));
}

#[test]
fn index_in_u32_fn_guards_with_an_early_return() {
    let src = "fn at(v: &[u32], i: usize) -> u32 {\n    let x = v[i] + 1;\n    x\n}\n";
    assert_eq!(
        fix(src, 2, "v[i]", OOB),
        "fn at(v: &[u32], i: usize) -> u32 {\n    if i >= v.len() {\n        return 0;\n    }\n    let x = v[i] + 1;\n    x\n}\n"
    );
}

#[test]
fn index_in_a_branch_is_not_guarded_before_the_statement() {
    // A guard before the `let` would return even when the branch is not taken.
    let src = "fn at(v: &[u32], i: usize, b: bool) -> u32 {\n    let x = if b { 0 } else { 1 } + if b { v[i] } else { 0 };\n    x\n}\n";
    let ps = patches(src, 2, "v[i]", OOB);
    for p in &ps {
        assert!(!p.diff.contains("if i >= v.len()"), "{}", p.diff);
    }
    assert!(apply(src, &ps[0]).contains("v.get(i).copied().unwrap_or_default()"));
}

#[test]
fn slice_range_in_option_fn_uses_get() {
    let src = "fn head(buf: &[u8], n: usize) -> Option<u8> {\n    let s = &buf[..n];\n    s.first().copied()\n}\n";
    let msg = "range end index 9 out of range for slice of length 4";
    assert_eq!(fix(src, 2, "buf[", msg), src.replace("&buf[..n]", "buf.get(..n)?"));
    let src2 = "fn head(buf: &[u8], n: usize) -> usize {\n    let s = &buf[..n];\n    s.len()\n}\n";
    assert!(fix(src2, 2, "buf[", msg).contains("    if buf.get(..n).is_none() {\n        return 0;\n    }\n"));
}

/// A crate of the 2015 edition can hold an item `syn` 2 rejects (a bare
/// `Fn(..) -> R` trait object); the rest of the file is still read and fixed.
#[test]
fn a_file_with_an_item_syn_rejects_still_gets_its_fix() {
    let src = "pub type Formatter = Fn(&u32, &mut String) -> Result<(), ()>;\n\nfn at(v: &[u32], i: usize) -> Option<u32> {\n    let x = v[i] + 1;\n    Some(x)\n}\n";
    let out = fix(src, 4, "v[", "index out of bounds: the len is 0 but the index is 0");
    assert!(out.contains("let x = *v.get(i)? + 1;"), "{out}");
    assert!(
        out.starts_with("pub type Formatter = Fn(&u32, &mut String) -> Result<(), ()>;\n"),
        "{out}"
    );
}

#[test]
fn split_at_past_the_end_clamps_the_position_then_guards() {
    let src = "pub struct Cursor<'a> {\n    rest: &'a str,\n}\n\nimpl<'a> Cursor<'a> {\n    pub fn take(&mut self, skip: bool) -> &'a str {\n        let pos = self.rest.find('}').map_or(self.rest.len(), |p| p + usize::from(skip));\n        let (head, tail) = self.rest.split_at(pos + 1);\n        self.rest = tail;\n        head\n    }\n}\n";
    let msg = "byte index 8 is out of bounds of `{world}`";
    let ps = patches(src, 8, "split_at", msg);
    assert_eq!(ps[0].class.as_deref(), Some("slice-range"));
    assert!(
        apply(src, &ps[0]).contains("let (head, tail) = self.rest.split_at((pos + 1).min(self.rest.len()));"),
        "{}",
        apply(src, &ps[0])
    );
    assert!(
        ps.iter()
            .any(|p| apply(src, p).contains("if pos + 1 > self.rest.len() {\n            return \"\";")),
        "the guard is a later strategy"
    );
}

#[test]
fn split_at_inside_a_character_moves_the_position_to_a_boundary() {
    let src = "pub fn halves(s: &str, n: usize) -> (String, String) {\n    let (a, b) = s.split_at(n);\n    (a.to_string(), b.to_string())\n}\n";
    let msg = "byte index 1 is not a char boundary; it is inside 'é' (bytes 0..2) of `é`";
    assert_eq!(
        fix(src, 2, "s.split_at", msg),
        "pub fn halves(s: &str, n: usize) -> (String, String) {\n    let mut mid = n;\n    while !s.is_char_boundary(mid) {\n        mid -= 1;\n    }\n    let (a, b) = s.split_at(mid);\n    (a.to_string(), b.to_string())\n}\n"
    );
}

#[test]
fn char_boundary_in_string_fn_moves_the_bound_to_a_boundary() {
    let src = "pub fn preview(s: &str, n: usize) -> String {\n    s[..n].to_string()\n}\n";
    let msg = "byte index 1 is not a char boundary; it is inside 'é' (bytes 0..2) of `é`";
    let out = fix(src, 2, "s[", msg);
    assert_eq!(
        out,
        "pub fn preview(s: &str, n: usize) -> String {\n    let mut end = n;\n    while !s.is_char_boundary(end) {\n        end -= 1;\n    }\n    s[..end].to_string()\n}\n"
    );
    let ps = patches(src, 2, "s[", msg);
    assert_eq!(ps[0].class.as_deref(), Some("char-boundary"));
    assert!(ps.iter().any(|p| apply(src, p).contains("if !s.is_char_boundary(n) {")));
}

#[test]
fn division_by_zero_choice_follows_the_signature() {
    let msg = "attempt to divide by zero";
    let src = "fn avg(total: u32, n: u32) -> u32 {\n    let a = total / n;\n    a\n}\n";
    assert!(fix(src, 2, "total /", msg).contains("    if n == 0 {\n        return 0;\n    }\n    let a = total / n;"));
    let src = "fn avg(total: u32, n: u32) -> Option<u32> {\n    let a = total / n;\n    Some(a)\n}\n";
    assert!(fix(src, 2, "total /", msg).contains("let a = total.checked_div(n)?;"));
    let src = "struct D;\nimpl D {\n    fn avg(&self, total: u32, n: u32) -> D {\n        let _a = total % (n * 2);\n        D\n    }\n}\n";
    let out = fix(
        src,
        4,
        "total %",
        "attempt to calculate the remainder with a divisor of zero",
    );
    assert!(out.contains("let _a = total.checked_rem(n * 2).unwrap_or(0);"), "{out}");
}

#[test]
fn a_missing_map_key_uses_get_or_a_contains_key_guard() {
    let msg = "no entry found for key";
    let src = "fn price(m: &HashMap<String, u32>, k: &str) -> Option<u32> {\n    let p = m[k] + 1;\n    Some(p)\n}\n";
    let p = &patches(src, 2, "m[k]", msg)[0];
    assert_eq!(p.class.as_deref(), Some("missing-key"));
    assert!(p.root_cause.contains("not in the map"), "{}", p.root_cause);
    assert_eq!(apply(src, p), src.replace("m[k] + 1", "*m.get(k)? + 1"));
    let src = "fn price(m: &BTreeMap<u64, u32>, id: u64) -> u32 {\n    let p = m[&id] + 1;\n    p\n}\n";
    assert_eq!(
        fix(src, 2, "m[&id]", msg),
        "fn price(m: &BTreeMap<u64, u32>, id: u64) -> u32 {\n    if !m.contains_key(&id) {\n        return 0;\n    }\n    let p = m[&id] + 1;\n    p\n}\n"
    );
}

#[test]
fn a_vec_position_past_the_end_is_guarded() {
    let msg = "removal index (is 3) should be < len (is 1)";
    let src = "fn pop_at(v: &mut Vec<u32>, i: usize) -> u32 {\n    let x = v.remove(i);\n    x\n}\n";
    let p = &patches(src, 2, "v.remove", msg)[0];
    assert_eq!(p.class.as_deref(), Some("vec-position"));
    assert_eq!(
        apply(src, p),
        "fn pop_at(v: &mut Vec<u32>, i: usize) -> u32 {\n    if i >= v.len() {\n        return 0;\n    }\n    let x = v.remove(i);\n    x\n}\n"
    );
    let msg = "insertion index (is 3) should be <= len (is 1)";
    let src = "fn put(v: &mut Vec<u32>, i: usize) {\n    v.insert(i + 1, 7);\n}\n";
    assert_eq!(
        fix(src, 2, "v.insert", msg),
        "fn put(v: &mut Vec<u32>, i: usize) {\n    if i + 1 > v.len() {\n        return;\n    }\n    v.insert(i + 1, 7);\n}\n"
    );
    // A position with side effects would run twice: no guard.
    let src = "fn pop_next(v: &mut Vec<u32>, it: &mut std::ops::Range<usize>) -> u32 {\n    v.remove(it.next().unwrap_or(0))\n}\n";
    let ctx = context(
        PATH,
        src,
        2,
        Some(col(src, 2, "v.remove")),
        "removal index (is 3) should be < len (is 1)",
    );
    let err = TemplateGenerator::new().candidates(&ctx).unwrap_err().to_string();
    assert!(err.contains("no template fix fits this site safely"), "{err}");
}

#[test]
fn shifts_by_the_bit_width_use_checked_shifts() {
    let src = "fn scale(x: u32, by: u32) -> u32 {\n    x << by\n}\n";
    let p = &patches(src, 2, "x <<", "attempt to shift left with overflow")[0];
    assert_eq!(p.class.as_deref(), Some("overflow"));
    assert!(p.root_cause.contains("shifted left by at least"), "{}", p.root_cause);
    assert_eq!(
        apply(src, p),
        src.replace(
            "x << by",
            "u32::try_from(by).ok().and_then(|n| x.checked_shl(n)).unwrap_or(0)"
        )
    );
    let src = "fn scale(x: u32, by: usize) -> Option<u32> {\n    Some(x >> by)\n}\n";
    assert_eq!(
        fix(src, 2, "x >>", "attempt to shift right with overflow"),
        src.replace("x >> by", "u32::try_from(by).ok().and_then(|n| x.checked_shr(n))?")
    );
    let src = "fn grow(mut x: u64, by: u8) -> u64 {\n    x <<= by;\n    x\n}\n";
    assert!(fix(src, 2, "x <<=", "attempt to shift left with overflow")
        .contains("    x = u32::try_from(by).ok().and_then(|n| x.checked_shl(n)).unwrap_or(0);\n"));
}

#[test]
fn a_str_range_past_the_end_is_a_slice_range() {
    // The message current Rust gives for `&s[..n]` with `n > s.len()`.
    let msg = "end byte index 5 is out of bounds of `ab`";
    let src = "fn head(s: &str, n: usize) -> Option<&str> {\n    let h = &s[..n];\n    Some(h)\n}\n";
    assert_eq!(fix(src, 2, "s[", msg), src.replace("&s[..n]", "s.get(..n)?"));
}

#[test]
fn duration_underflow_saturates() {
    let msg = "overflow when subtracting durations";
    let src = "fn left(total: Duration, used: Duration) -> Duration {\n    total - used\n}\n";
    assert_eq!(
        fix(src, 2, "total", msg),
        src.replace("total - used", "total.saturating_sub(used)")
    );
}

#[test]
fn overflow_saturates_and_handles_compound_assignment() {
    let src = "fn span(len: usize) -> usize {\n    let r = (len / 2) - 1;\n    r\n}\n";
    let out = fix(src, 2, "(len", "attempt to subtract with overflow");
    assert_eq!(out, src.replace("(len / 2) - 1", "(len / 2).saturating_sub(1)"));
    let src = "fn sum(v: &[u8]) -> u8 {\n    let mut t = 0u8;\n    for x in v {\n        t += *x;\n    }\n    t\n}\n";
    assert!(fix(src, 4, "t +=", "attempt to add with overflow").contains("        t = t.saturating_add(*x);\n"));
    let src = "fn sum(a: u8, b: u8) -> Option<u8> {\n    Some(a * b)\n}\n";
    assert!(fix(src, 2, "a *", "attempt to multiply with overflow").contains("Some(a.checked_mul(b)?)"));
    // An untyped literal on the left is swapped for a commutative operator.
    let src = "fn inc(a: u8) -> u8 {\n    1 + a\n}\n";
    assert!(fix(src, 2, "1 +", "attempt to add with overflow").contains("    a.saturating_add(1)\n"));
}

#[test]
fn the_expression_at_the_column_wins_among_several_on_the_line() {
    let src = "fn f(a: u32, b: u32, c: u32) -> u32 {\n    a / b + c / a\n}\n";
    let out = fix(src, 2, "c /", "attempt to divide by zero");
    assert!(out.contains("    if a == 0 {\n"), "{out}");
    let out = fix(src, 2, "a /", "attempt to divide by zero");
    assert!(out.contains("    if b == 0 {\n"), "{out}");
}

/// Applies a patch with `git apply` (byte-exact, keeps CRLF) to a copy of
/// `src` in a temp dir and returns the new text.
fn git_apply(src: &str, p: &Patch) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join(PATH), src).unwrap();
    std::fs::write(dir.path().join("fix.diff"), &p.diff).unwrap();
    let out = bugstack_fix::git::command(dir.path())
        .args(["apply", "--unsafe-paths", "fix.diff"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        p.diff
    );
    std::fs::read_to_string(dir.path().join(PATH)).unwrap()
}

#[test]
fn untouched_bytes_and_crlf_and_tabs_are_preserved() {
    let src = "// header  \r\nfn at(v: &[u32], i: usize) -> u32 {\r\n\tlet  x =   v[i];\r\n\tx\r\n}\r\n\r\n/// trailing\r\nfn other() {}\r\n";
    let p = &patches(src, 3, "v[i]", OOB)[0];
    let out = git_apply(src, p);
    assert_eq!(
        out,
        "// header  \r\nfn at(v: &[u32], i: usize) -> u32 {\r\n\tif i >= v.len() {\r\n\t\treturn 0;\r\n\t}\r\n\tlet  x =   v[i];\r\n\tx\r\n}\r\n\r\n/// trailing\r\nfn other() {}\r\n"
    );
    // Everything outside the inserted lines is byte-identical.
    let inserted = "\tif i >= v.len() {\r\n\t\treturn 0;\r\n\t}\r\n";
    assert_eq!(out.replacen(inserted, "", 1), src);
    // rustc counts a tab as 4 columns: column 5 is `let` after one tab.
    let ctx = context(PATH, src, 3, Some(14), OOB);
    assert!(TemplateGenerator::new().candidates(&ctx).is_ok());
}

#[test]
fn a_replacement_changes_only_the_panicking_span() {
    let src = "use std::fmt;  // keep   this\n\nfn at(v: &[u32], i: usize) -> Option<u32> {\n    let x   =   v[i]  ;   // odd spacing\n    Some(x)\n}\n";
    let out = fix(src, 4, "v[i]", OOB);
    assert_eq!(out, src.replacen("v[i]", "*v.get(i)?", 1));
}

#[tokio::test]
async fn retries_skip_strategies_already_tried() {
    let src = "fn at(v: &[u32], i: usize) -> u32 {\n    let x = v[i] + 1;\n    x\n}\n";
    let ctx = context(PATH, src, 2, Some(col(src, 2, "v[i]")), OOB);
    let g = TemplateGenerator::new();
    assert_eq!(g.name(), "template");
    let first = g.generate(&ctx, &[]).await.unwrap();
    assert!(first.diff.contains("if i >= v.len()"));
    let fb = |n: u32, p: &Patch| Feedback {
        attempt: n,
        patch: Some(p.clone()),
        failure: "error[E0308]: mismatched types".into(),
    };
    let second = g.generate(&ctx, &[fb(1, &first)]).await.unwrap();
    assert_ne!(second.diff, first.diff);
    assert!(second.diff.contains("unwrap_or_default"), "{}", second.diff);
    let err = g.generate(&ctx, &[fb(1, &first), fb(2, &second)]).await.unwrap_err();
    assert!(err.to_string().contains("already tried"), "{err}");
}

#[test]
fn unrecognised_or_unfixable_panics_are_clear_errors() {
    let src = "fn f(v: &[u32]) -> u32 {\n    v[0]\n}\n";
    let g = TemplateGenerator::new();
    let e = g
        .candidates(&context(PATH, src, 2, Some(5), "database is on fire"))
        .unwrap_err();
    assert!(e.to_string().contains("unrecognised panic"), "{e}");
    let e = g
        .candidates(&context(PATH, src, 2, Some(5), "attempt to divide by zero"))
        .unwrap_err();
    assert!(e.to_string().contains("no matching expression"), "{e}");
    let e = g.candidates(&context(PATH, "fn (", 1, Some(1), OOB)).unwrap_err();
    assert!(e.to_string().contains("does not parse"), "{e}");
    let mut ctx = context(PATH, src, 2, Some(5), OOB);
    ctx.files.clear();
    assert!(g
        .candidates(&ctx)
        .unwrap_err()
        .to_string()
        .contains("does not hold the text"));
    ctx.frames.clear();
    assert!(g
        .candidates(&ctx)
        .unwrap_err()
        .to_string()
        .contains("no in-repository frame"));
    // Inside a non-standard macro the tokens are opaque: refuse rather than guess.
    let src = "fn f(v: &[u32]) {\n    my_log!(\"{}\", v[9]);\n}\n";
    let e = g.candidates(&context(PATH, src, 2, Some(19), OOB)).unwrap_err();
    assert!(e.to_string().contains("inside a macro call"), "{e}");
}

#[test]
fn panics_inside_standard_macro_arguments_are_fixed() {
    let src = "pub fn preview(s: &str, n: usize) -> String {\n    format!(\"{}…\", &s[..n])\n}\n";
    let msg = "byte index 1 is not a char boundary; it is inside 'é' (bytes 0..2) of `é`";
    let out = fix(src, 2, "s[", msg);
    assert!(out.contains("    while !s.is_char_boundary(end) {\n"), "{out}");
    assert!(out.contains("    format!(\"{}…\", &s[..end])\n"), "{out}");
    let src = "fn show(v: &[u32], i: usize) {\n    println!(\"{} items, item {}\", v.len(), v[i]);\n}\n";
    let out = fix(src, 2, "v[i]", OOB);
    assert!(
        out.contains("    if i >= v.len() {\n        return;\n    }\n    println!"),
        "{out}"
    );
    // An assertion message is only evaluated when the assertion fails: no
    // guard before the statement.
    let src = "fn check(ok: bool, v: &[u32], i: usize) {\n    assert!(ok, \"{}\", v[i]);\n}\n";
    for p in patches(src, 2, "v[i]", OOB) {
        assert!(!p.diff.contains("return;"), "{}", p.diff);
    }
}

#[test]
fn never_crashes_and_every_candidate_parses_at_any_location() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/panics/src");
    let messages = [
        NONE,
        ERR,
        OOB,
        "range end index 9 out of range for slice of length 4",
        "byte index 1 is not a char boundary; it is inside 'é' (bytes 0..2) of `é`",
        "attempt to divide by zero",
        "attempt to calculate the remainder with a divisor of zero",
        "attempt to subtract with overflow",
        "attempt to add with overflow",
        "attempt to multiply with overflow",
        "attempt to negate with overflow",
        "totally unknown",
    ];
    let g = TemplateGenerator::new().without_rustfmt();
    let mut fixed = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let src = std::fs::read_to_string(&path).unwrap();
        for line in 1..=src.lines().count() as u32 + 1 {
            for column in [None, Some(9)] {
                for msg in messages {
                    if let Ok(ps) = g.candidates(&context(PATH, &src, line, column, msg)) {
                        for p in ps {
                            let out = apply(&src, &p);
                            assert!(syn::parse_file(&out).is_ok(), "{}", p.diff);
                            fixed += 1;
                        }
                    }
                }
            }
        }
    }
    assert!(fixed > 50, "{fixed}");
}

#[test]
fn a_rustfmt_clean_file_stays_rustfmt_clean() {
    // The `ok_or_else(..)?` replacement pushes the line past 100 columns;
    // rustfmt wraps it as `cargo fmt --check` expects.
    let src = "pub fn first_port(ports: &[&str]) -> Result<usize, String> {\n    let port = ports.iter().map(|p| p.len()).filter(|n| *n > 2).max().unwrap();\n    Ok(port)\n}\n";
    let ctx = context(PATH, src, 2, Some(col(src, 2, "unwrap")), NONE);
    let formatted = &TemplateGenerator::new().candidates(&ctx).unwrap()[0];
    let raw = &TemplateGenerator::new().without_rustfmt().candidates(&ctx).unwrap()[0];
    let raw_text = apply(src, raw);
    assert!(raw_text.lines().any(|l| l.len() > 100), "{raw_text}");
    let check = std::process::Command::new("rustfmt").arg("--version").output();
    if !check.is_ok_and(|o| o.status.success()) {
        println!("SKIPPED: rustfmt is not installed");
        return;
    }
    let text = apply(src, formatted);
    assert!(text.lines().all(|l| l.len() <= 100), "{text}");
    assert!(text.contains("        .ok_or_else(|| "), "{text}");
    assert!(
        text.starts_with("pub fn first_port(ports: &[&str]) -> Result<usize, String> {\n    let port = ports\n"),
        "{text}"
    );
    assert!(text.ends_with("    Ok(port)\n}\n"), "{text}");
}

#[test]
fn negation_overflow_saturates_or_propagates() {
    let msg = "attempt to negate with overflow";
    let src = "fn flip(x: i32) -> i32 {\n    let y = -x;\n    y\n}\n";
    assert_eq!(fix(src, 2, "-x", msg), src.replace("-x;", "x.saturating_neg();"));
    let src = "fn flip(x: i32) -> Option<i32> {\n    let y = -x;\n    Some(y)\n}\n";
    assert_eq!(fix(src, 2, "-x", msg), src.replace("-x;", "x.checked_neg()?;"));
}

/// In a file that computes with wrapping arithmetic (a hash), an overflow
/// is meant to wrap: `wrapping_*` ranks first; elsewhere it is not offered.
#[test]
fn overflow_in_a_file_that_wraps_on_purpose_wraps() {
    const ADD: &str = "attempt to add with overflow";
    let src =
        "fn round(acc: u32, lane: u32) -> u32 {\n    let acc = acc.wrapping_mul(2654435761);\n    acc + lane\n}\n";
    let all = patches(src, 3, "acc + lane", ADD);
    assert_eq!(apply(src, &all[0]), src.replace("acc + lane", "acc.wrapping_add(lane)"));
    assert!(
        all[0].explanation.contains("wrapping arithmetic"),
        "{}",
        all[0].explanation
    );
    let plain = "fn total(a: u32, b: u32) -> u32 {\n    a + b\n}\n";
    let all = patches(plain, 2, "a + b", ADD);
    assert!(all.iter().all(|p| !p.diff.contains("wrapping_")), "{:?}", all[0].diff);
    assert!(apply(plain, &all[0]).contains("saturating_add"));
}

/// `(v << s) as i64 >> s` with `s` = 64: a 0 in place of the left shift
/// would panic at the right shift next, so returning early ranks first.
#[test]
fn a_shift_whose_amount_shifts_again_returns_early() {
    const SHL: &str = "attempt to shift left with overflow";
    let src = "fn sign_extend(val: u64, nbytes: usize) -> i64 {\n    let shift = (8 - nbytes) * 8;\n    (val << shift) as i64 >> shift\n}\n";
    let all = patches(src, 3, "val << shift", SHL);
    let first = apply(src, &all[0]);
    assert!(
        first.contains("let Some(value) = u32::try_from(shift).ok().and_then(|n| val.checked_shl(n)) else {\n        return 0;\n    };\n    (value) as i64 >> shift"),
        "{first}"
    );
    let single = "fn high(val: u64, shift: usize) -> u64 {\n    val << shift\n}\n";
    let all = patches(single, 2, "val << shift", SHL);
    assert!(
        apply(single, &all[0]).contains(".unwrap_or(0)"),
        "one shift: the 0 is the answer"
    );
}

const REM_ZERO: &str = "attempt to calculate the remainder with a divisor of zero";

/// `x % d == 0` is a divisibility test: only 0 is a multiple of 0.
#[test]
fn a_divisibility_test_by_zero_answers_by_convention() {
    let src = "fn is_multiple_of(x: u64, d: u64) -> bool {\n    x % d == 0\n}\n";
    let all = patches(src, 2, "x % d", REM_ZERO);
    assert_eq!(
        apply(src, &all[0]),
        src.replace("x % d == 0", "x.checked_rem(d).map_or(x == 0, |r| r == 0)")
    );
    // Not a comparison with 0: no divisibility answer.
    let src = "fn bucket(x: u64, d: u64) -> u64 {\n    x % d\n}\n";
    assert!(patches(src, 2, "x % d", REM_ZERO)
        .iter()
        .all(|p| !p.diff.contains("map_or")));
}

/// A panic inside a `macro_rules!` expansion is reported at the macro's
/// call; the frame's function names the method, and the fix edits the
/// macro's body (every expansion at once).
#[test]
fn a_panic_in_a_macro_rules_expansion_is_fixed_in_the_macro() {
    let src = "pub trait Integer {\n    fn is_multiple_of(&self, other: &Self) -> bool;\n}\n\nmacro_rules! impl_integer {\n    ($T:ty) => {\n        impl Integer for $T {\n            fn is_multiple_of(&self, other: &Self) -> bool {\n                *self % *other == 0\n            }\n        }\n    };\n}\n\nimpl_integer!(u32);\nimpl_integer!(u64);\n";
    let mut ctx = support::template::context(PATH, src, 16, Some(1), REM_ZERO);
    ctx.frames[0].function = Some("<u64 as demo::Integer>::is_multiple_of".into());
    let all = TemplateGenerator::new().candidates(&ctx).unwrap();
    let fixed = apply(src, &all[0]);
    assert!(
        fixed.contains("                (*self).checked_rem(*other).map_or(*self == 0, |r| r == 0)\n"),
        "{fixed}"
    );
    assert!(fixed.contains("impl_integer!(u64);"), "the calls are untouched");
    assert!(
        all[0].root_cause.contains("macro_rules! impl_integer"),
        "{}",
        all[0].root_cause
    );
    // Without the function's name, nothing says which expression panicked.
    ctx.frames[0].function = None;
    assert!(TemplateGenerator::new().candidates(&ctx).is_err());
}

/// The same subtraction on the next line overflows on the same input: the
/// saturating fix changes both, and says so.
#[test]
fn the_same_overflow_on_the_next_line_gets_the_same_fix() {
    const SUB: &str = "attempt to subtract with overflow";
    let src = "fn lens(a: usize, b: usize, pre: usize, suf: usize) -> (usize, usize) {\n    let x = a - pre - suf;\n    let y = b - pre - suf;\n    (x, y)\n}\n";
    let all = patches(src, 2, "- suf", SUB);
    let fixed = apply(src, &all[0]);
    assert!(fixed.contains("let x = (a - pre).saturating_sub(suf);"), "{fixed}");
    assert!(fixed.contains("let y = (b - pre).saturating_sub(suf);"), "{fixed}");
    assert!(all[0].explanation.contains("on line 3"), "{}", all[0].explanation);
    // The same operation again in the panicking statement (ropey's
    // `size_hint`: `(n - i, Some(n - i))` over two lines).
    let src = "fn hint(total: usize, at: usize) -> (usize, Option<usize>) {\n    (\n        total - at,\n        Some(total - at),\n    )\n}\n";
    let all = patches(src, 3, "- at", SUB);
    let fixed = apply(src, &all[0]);
    assert_eq!(fixed.matches("total.saturating_sub(at)").count(), 2, "{fixed}");
    assert!(all[0].explanation.contains("on line 4"), "{}", all[0].explanation);
    // The same, in a block nested in the function's tail expression.
    let src = "fn hint(rev: bool, total: usize, at: usize) -> (usize, Option<usize>) {\n    if rev {\n        (at, Some(at))\n    } else {\n        (\n            total - at,\n            Some(total - at),\n        )\n    }\n}\n";
    let fixed = apply(src, &patches(src, 6, "- at", SUB)[0]);
    assert_eq!(fixed.matches("total.saturating_sub(at)").count(), 2, "{fixed}");
    // A different operand is a different computation: left alone.
    let src = "fn lens(a: usize, pre: usize, suf: usize) -> (usize, usize) {\n    let x = a - suf;\n    let y = a - pre;\n    (x, y)\n}\n";
    let fixed = apply(src, &patches(src, 2, "- suf", SUB)[0]);
    assert!(fixed.contains("let y = a - pre;"), "{fixed}");
}

/// `len - prefix - suffix` where the suffix is a `let` binding read again
/// later (similar's LCS on identical input: prefix and suffix overlap).
/// Saturating the difference would leave the later read with the old,
/// overlapping suffix; the suffix is clamped to what is left instead,
/// bounded by the same subtraction on the next line too.
#[test]
fn a_subtrahend_read_again_later_is_clamped_instead_of_saturating_the_result() {
    const SUB: &str = "attempt to subtract with overflow";
    let src = "fn runs(a: usize, b: usize, pre: usize, tail: &[usize]) -> Vec<usize> {\n    let suf = tail.len();\n    let x = a - pre - suf;\n    let y = b - pre - suf;\n    vec![pre, x, y, suf]\n}\n";
    let all = patches(src, 3, "- suf", SUB);
    assert!(
        all[0].explanation.contains("template strategy: clamp-operand"),
        "{}",
        all[0].explanation
    );
    let fixed = apply(src, &all[0]);
    assert!(
        fixed.contains(
            "    let suf = suf.min(a - pre).min(b - pre);\n    let x = a - pre - suf;\n    let y = b - pre - suf;\n"
        ),
        "{fixed}"
    );
    assert!(all[0].explanation.contains("(line 4, 5)"), "{}", all[0].explanation);
    assert!(all[0].invented_value.is_some(), "a clamp is a made-up value: reviewed");
    // Saturating stays offered, after it.
    assert!(all.iter().any(|p| p.diff.contains("saturating_sub(suf)")));
    // Not read after the statement: nothing to keep consistent, saturating
    // comes first.
    let src = "fn runs(a: usize, pre: usize, tail: &[usize]) -> usize {\n    let suf = tail.len();\n    let x = a - pre - suf;\n    x\n}\n";
    let all = patches(src, 3, "- suf", SUB);
    assert!(all[0].diff.contains("saturating_sub(suf)"), "{}", all[0].diff);
    // A `mut` binding would stop compiling where it is assigned later.
    let src = "fn runs(a: usize, pre: usize, tail: &[usize]) -> usize {\n    let mut suf = tail.len();\n    let x = a - pre - suf;\n    suf += x;\n    suf\n}\n";
    let all = patches(src, 3, "- suf", SUB);
    assert!(all.iter().all(|p| !p.diff.contains("suf.min(")), "{:?}", all);
}

/// A sibling macro generating the same method for other types carries the
/// same bug: it gets the same change, and the explanation says so.
#[test]
fn the_same_method_in_a_sibling_macro_gets_the_same_fix() {
    let src = "pub trait Integer {\n    fn is_multiple_of(&self, other: &Self) -> bool;\n}\n\nmacro_rules! impl_unsigned {\n    ($T:ty) => {\n        impl Integer for $T {\n            fn is_multiple_of(&self, other: &Self) -> bool {\n                *self % *other == 0\n            }\n        }\n    };\n}\n\nmacro_rules! impl_signed {\n    ($T:ty) => {\n        impl Integer for $T {\n            fn is_multiple_of(&self, other: &Self) -> bool {\n                *self % *other == 0\n            }\n        }\n    };\n}\n\nimpl_unsigned!(u64);\nimpl_signed!(i64);\n";
    let mut ctx = support::template::context(PATH, src, 25, Some(1), REM_ZERO);
    ctx.frames[0].function = Some("<u64 as demo::Integer>::is_multiple_of".into());
    let best = &TemplateGenerator::new().candidates(&ctx).unwrap()[0];
    let fixed = apply(src, best);
    assert_eq!(
        fixed
            .matches("(*self).checked_rem(*other).map_or(*self == 0, |r| r == 0)")
            .count(),
        2,
        "{fixed}"
    );
    assert!(best.explanation.contains("1 other macro"), "{}", best.explanation);
}

/// An `unreachable!()` in a `Result` function whose panic names no error:
/// the error returned nearest to it is reused. An error returned several
/// times counts where it is nearest (here `E::Invalid`, two lines above,
/// though it is first returned far above), not where it first appears.
#[test]
fn an_error_returned_again_near_the_panic_counts_where_it_is_nearest() {
    let src = "enum E { Invalid, Percent }\nfn pick(a: Option<u8>, b: Option<u8>, pct: bool) -> Result<u8, E> {\n    let a = a.ok_or(E::Invalid)?;\n    let r = match (a, b) {\n        (x, None) => x,\n        (x, Some(y)) => {\n            if pct {\n                return Err(E::Percent);\n            }\n            if x > y {\n                x\n            } else {\n                return Err(E::Invalid);\n            }\n        }\n        #[allow(unreachable_patterns)]\n        _ => unreachable!(),\n    };\n    Ok(r)\n}\n";
    let ps = patches(src, 17, "unreachable", "internal error: entered unreachable code");
    let out = apply(src, &ps[0]);
    assert!(out.contains("_ => return Err(E::Invalid),"), "{out}");
}

/// A guard just above already gives up on bad data of the same variables
/// with `break 'fail` (fancy-regex's backref: `if lo == usize::MAX { break
/// 'fail; }`): the fix guards the slice the same way, ranked before any
/// error or default value, and says which guard it follows.
#[test]
fn a_guard_follows_the_codes_own_exit_for_the_same_data() {
    let src = "fn backref(s: &str, saves: &[usize], slot: usize) -> bool {\n    'fail: loop {\n        let lo = saves[slot];\n        if lo == usize::MAX {\n            break 'fail;\n        }\n        let hi = saves[slot + 1];\n        let text = &s[lo..hi];\n        return !text.is_empty();\n    }\n    false\n}\n";
    let ps = patches(
        src,
        8,
        "&s[lo..hi]",
        "byte index 18446744073709551615 is out of bounds of `ab`",
    );
    assert!(
        ps[0].explanation.contains("as the guard on line 4 does"),
        "{}",
        ps[0].explanation
    );
    let out = apply(src, &ps[0]);
    assert!(
        out.contains(
            "        if s.get(lo..hi).is_none() {\n            break 'fail;\n        }\n        let text = &s[lo..hi];"
        ),
        "{out}"
    );
    // Without such a guard, the usual early return.
    let plain = src.replace(
        "        if lo == usize::MAX {\n            break 'fail;\n        }\n",
        "",
    );
    let ps = patches(
        &plain,
        5,
        "&s[lo..hi]",
        "byte index 18446744073709551615 is out of bounds of `ab`",
    );
    assert!(
        ps.iter().all(|p| !p.explanation.contains("the code's own way")),
        "{ps:?}"
    );
}

/// Every candidate says whether it makes up a value where the code
/// panicked: the function's own `None` or error is not made up; `0`, a
/// saturated bound, a default and a skipped unit function are.
#[test]
fn each_candidate_says_whether_it_invents_a_value() {
    const OOB: &str = "index out of bounds: the len is 2 but the index is 2";
    let in_usize = "fn get(v: &[usize], slot: usize) -> usize {\n    v[slot]\n}\n";
    let all = patches(in_usize, 2, "v[slot]", OOB);
    assert!(!all.is_empty());
    for p in &all {
        assert!(p.invented_value.is_some(), "{}\n{:?}", p.diff, p.invented_value);
    }
    assert_eq!(all[0].invented_value.as_deref(), Some("`0`"), "{}", all[0].diff);

    let in_option = "fn get(v: &[usize], slot: usize) -> Option<usize> {\n    Some(v[slot])\n}\n";
    let first = &patches(in_option, 2, "v[slot]", OOB)[0];
    assert!(first.diff.contains("v.get(slot)?"), "{}", first.diff);
    assert_eq!(first.invented_value, None);

    let sub = "fn rest(len: usize, used: usize) -> usize {\n    len - used\n}\n";
    let saturating = patches(sub, 2, "len - used", "attempt to subtract with overflow");
    let s = saturating.iter().find(|p| p.diff.contains("saturating_sub")).unwrap();
    assert_eq!(
        s.invented_value.as_deref(),
        Some("the type's bound (a saturated result)")
    );

    let unit = "fn log_first(v: &[u32]) {\n    let x: &u32 = v.first().unwrap();\n    println!(\"{x}\");\n}\n";
    let skip = &patches(unit, 2, "unwrap", NONE)[0];
    assert_eq!(
        skip.invented_value.as_deref(),
        Some("nothing: `log_first` skips the rest of its work")
    );
}
