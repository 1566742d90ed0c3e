//! Regression tests: the part of a patch that adds the test, and reading
//! `cargo test`'s verdict.

use crate::patch::parse_diff;

/// Whether `name` is safe to hand to `cargo test` as a filter: a Rust path
/// (`cart::tests::empty_cart`), never an option or shell syntax.
pub(crate) fn is_valid_test_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && name.len() <= 200
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// Splits a diff into its per-file sections, each text kept byte for byte.
pub(crate) fn file_sections(diff: &str) -> Vec<String> {
    let lines: Vec<&str> = diff.split_inclusive('\n').collect();
    let mut sections = Vec::new();
    let mut cur = String::new();
    let mut git_header_open = false;
    for (i, line) in lines.iter().enumerate() {
        let git_start = line.starts_with("diff --git ");
        let plain_start = !git_header_open
            && line.starts_with("--- ")
            && lines.get(i + 1).is_some_and(|n| n.starts_with("+++ "))
            && !cur
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("diff --git ") || l.starts_with("index "));
        if git_start || plain_start {
            if !cur.is_empty() {
                sections.push(std::mem::take(&mut cur));
            }
            git_header_open = git_start;
        } else if line.starts_with("--- ") {
            git_header_open = false;
        }
        cur.push_str(line);
    }
    if !cur.trim().is_empty() {
        sections.push(cur);
    }
    sections
}

/// The part of `diff` that adds the regression test: the hunks for
/// `test_path`. When that file also carries other changes (a test module
/// next to the fixed code), only the hunks whose added lines mention the
/// test (its last path segment, `#[test]` or `mod tests`) are kept. Empty
/// when the diff does not touch `test_path`.
pub(crate) fn test_only_diff(diff: &str, test_path: &str, test_name: &str) -> String {
    let short = test_name.rsplit("::").next().unwrap_or(test_name);
    let mut out = String::new();
    for section in file_sections(diff) {
        let Ok(files) = parse_diff(&section) else { continue };
        if files.first().map(|f| f.path()) != Some(test_path) {
            continue;
        }
        let (header, hunks) = split_hunks(&section);
        if hunks.len() <= 1 {
            out.push_str(&section);
            continue;
        }
        let mentions = |h: &&String| {
            h.lines()
                .filter(|l| l.starts_with('+'))
                .any(|l| l.contains(short) || l.contains("#[test]") || l.contains("mod tests"))
        };
        let kept: Vec<&String> = hunks.iter().filter(mentions).collect();
        out.push_str(&header);
        if kept.is_empty() {
            hunks.iter().for_each(|h| out.push_str(h));
        } else {
            kept.into_iter().for_each(|h| out.push_str(h));
        }
    }
    out
}

fn split_hunks(section: &str) -> (String, Vec<String>) {
    let mut header = String::new();
    let mut hunks: Vec<String> = Vec::new();
    for line in section.split_inclusive('\n') {
        if line.starts_with("@@ ") {
            hunks.push(String::new());
        }
        match hunks.last_mut() {
            Some(h) => h.push_str(line),
            None => header.push_str(line),
        }
    }
    (header, hunks)
}

/// Tests `cargo test` reports as passed, summed over its test binaries.
pub(crate) fn tests_passed(output: &str) -> u64 {
    output
        .lines()
        .filter_map(|l| l.trim().strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_FILES: &str = "diff --git a/src/cart.rs b/src/cart.rs\n--- a/src/cart.rs\n+++ b/src/cart.rs\n@@ -1,2 +1,2 @@\n a\n-b\n+c\ndiff --git a/tests/t.rs b/tests/t.rs\nnew file mode 100644\n--- /dev/null\n+++ b/tests/t.rs\n@@ -0,0 +1,2 @@\n+#[test]\n+fn empty_cart() {}\n";

    #[test]
    fn sections_and_test_part() {
        let s = file_sections(TWO_FILES);
        assert_eq!(s.len(), 2);
        assert_eq!(s.concat(), TWO_FILES);
        let t = test_only_diff(TWO_FILES, "tests/t.rs", "empty_cart");
        assert!(
            t.starts_with("diff --git a/tests/t.rs") && !t.contains("cart.rs b/src"),
            "{t}"
        );
        assert_eq!(test_only_diff(TWO_FILES, "tests/other.rs", "x"), "");
        let plain = "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n--- a/y\n+++ b/y\n@@ -1 +1 @@\n-c\n+d\n";
        assert_eq!(file_sections(plain).len(), 2);
    }

    #[test]
    fn same_file_keeps_only_test_hunks() {
        let d = "--- a/src/c.rs\n+++ b/src/c.rs\n@@ -1,3 +1,3 @@\n a\n-b\n+fixed\n c\n@@ -20,3 +20,5 @@\n mod tests {\n+    #[test]\n+    fn empty_cart() {}\n }\n";
        let t = test_only_diff(d, "src/c.rs", "c::tests::empty_cart");
        assert!(!t.contains("fixed") && t.contains("fn empty_cart"), "{t}");
    }

    #[test]
    fn names_and_counts() {
        assert!(is_valid_test_name("cart::tests::empty_cart"));
        for bad in ["", "--help", "x; rm -rf /", "a b", "$(x)", "-q"] {
            assert!(!is_valid_test_name(bad), "{bad}");
        }
        let out =
            "test result: ok. 1 passed; 0 failed\n   test result: ok. 2 passed; 0 failed\ntest result: ok. 0 passed;";
        assert_eq!(tests_passed(out), 3);
        assert_eq!(tests_passed("test result: FAILED. 0 passed; 1 failed"), 0);
    }
}
