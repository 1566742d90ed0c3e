//! Which of the crate's tests are about the code that panicked: the tests
//! whose names share a word with the names at the panic (the functions on
//! the stack, the `match` arm the line sits in: `Insn::Backref { slot,
//! casei }` makes `fn backrefs()` and `fn backref_with_multibyte()`
//! related). Their literals seed the search before the others, so a crate
//! with hundreds of test strings still offers the ones that exercise the
//! failing path.

use std::collections::BTreeMap;

use syn::spanned::Spanned;
use syn::visit::Visit;

use crate::FixContext;

/// Words too common in names to relate a test to a site.
const COMMON: &[&str] = &[
    "self", "from", "into", "with", "test", "impl", "none", "some", "true", "false", "should", "works", "when", "check",
];

/// The words of `name` (`snake_case`, `CamelCase`, `a::path`), lowercase,
/// a plural `s` dropped; words under four letters and [`COMMON`] ones left
/// out.
pub(super) fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut flush = |word: &mut String| {
        let w = std::mem::take(word).to_lowercase();
        let w = match w.strip_suffix('s') {
            Some(stem) if stem.len() >= 4 && !stem.ends_with('s') => stem.to_string(),
            _ => w,
        };
        if w.len() >= 4 && !COMMON.contains(&w.as_str()) && !out.contains(&w) {
            out.push(w);
        }
    };
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            flush(&mut word);
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            flush(&mut word);
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        word.push(c);
    }
    flush(&mut word);
    out
}

/// The words at the panic, each weighed by how near the panic it stands:
/// for every frame of the repository, the name of the function its line is
/// in and the names in the pattern of the innermost `match` arm around it.
/// The innermost frame's words weigh most (as many as there are frames),
/// the outermost's 1: `find` from the public `find_from_pos` relates many
/// tests, `backref` from the matcher's arm the few that matter.
pub(super) fn site_words(ctx: &FixContext) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let n = ctx.frames.len();
    for (i, frame) in ctx.frames.iter().enumerate() {
        let Some(file) = ctx.file(&frame.path).and_then(|t| crate::rust_file::parse_file(t).ok()) else {
            continue;
        };
        let mut at = Enclosing {
            line: frame.line as usize,
            function: None,
            arm: None,
        };
        at.visit_file(&file);
        let names = at.function.into_iter().chain(at.arm.into_iter().flatten());
        for w in names.flat_map(|name| words(&name)) {
            let weight = out.entry(w).or_insert(0);
            *weight = (*weight).max(n - i);
        }
    }
    out
}

/// The innermost function and `match` arm whose span holds `line`.
struct Enclosing {
    line: usize,
    function: Option<String>,
    arm: Option<Vec<String>>,
}

impl Enclosing {
    fn holds(&self, s: &impl Spanned) -> bool {
        let span = s.span();
        span.start().line <= self.line && self.line <= span.end().line
    }
}

impl<'ast> Visit<'ast> for Enclosing {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if self.holds(f) {
            self.function = Some(f.sig.ident.to_string());
            syn::visit::visit_item_fn(self, f);
        }
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if self.holds(f) {
            self.function = Some(f.sig.ident.to_string());
            syn::visit::visit_impl_item_fn(self, f);
        }
    }
    fn visit_arm(&mut self, a: &'ast syn::Arm) {
        if self.holds(a) {
            let mut names = Names(Vec::new());
            names.visit_pat(&a.pat);
            self.arm = Some(names.0);
            syn::visit::visit_arm(self, a);
        }
    }
}

/// Every identifier in a pattern (paths, bindings, field names), once.
struct Names(Vec<String>);

impl<'ast> Visit<'ast> for Names {
    fn visit_ident(&mut self, i: &'ast proc_macro2::Ident) {
        let i = i.to_string();
        if !self.0.contains(&i) {
            self.0.push(i);
        }
    }
}

/// The text of the test functions in `sources` whose names share a word
/// with `site`, the heaviest shared words first (then in source order):
/// each a file of one item, for
/// [`Seeds::collect`](super::harness::Seeds::collect).
pub(super) fn related_tests(sources: &[String], site: &BTreeMap<String, usize>) -> Vec<String> {
    let mut found: Vec<(usize, String)> = Vec::new();
    for text in sources {
        let Ok(file) = crate::rust_file::parse_file(text) else {
            continue;
        };
        let mut fns = Fns(Vec::new());
        fns.visit_file(&file);
        let lines: Vec<&str> = text.lines().collect();
        for f in fns.0 {
            let shared: usize = words(&f.sig.ident.to_string()).iter().filter_map(|w| site.get(w)).sum();
            let span = f.span();
            let (start, end) = (span.start().line, span.end().line);
            if shared > 0 && start >= 1 && end <= lines.len() {
                found.push((shared, lines[start - 1..end].join("\n")));
            }
        }
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found.into_iter().map(|(_, t)| t).collect()
}

/// Every `#[test]` function, at any depth (test modules included): the
/// crate's own functions are not tests of it, and their literals (a
/// parser's delimiter chars) would crowd out the tests'.
struct Fns<'ast>(Vec<&'ast syn::ItemFn>);

impl<'ast> Visit<'ast> for Fns<'ast> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if crate::rust_file::is_test_attr(&f.attrs) {
            self.0.push(f);
        }
        syn::visit::visit_item_fn(self, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_words() {
        assert_eq!(words("matches_literal_casei"), ["matche", "literal", "casei"]);
        assert_eq!(words("Insn::Backref"), ["insn", "backref"]);
        assert_eq!(words("backrefs"), ["backref"]);
        assert_eq!(words("is_match"), ["match"]);
        assert_eq!(words("HirFrame"), ["frame"]);
        assert_eq!(words("test_class"), ["class"]);
    }

    #[test]
    fn tests_sharing_a_word_with_the_site_come_first_most_shared_first() {
        let sources = vec![
            "#[test]\nfn split_left() {\n    f(\"a,b\");\n}\n#[test]\nfn backrefs() {\n    f(\"(.)\\\\1\");\n}\nfn backref_helper() {\n    f(\"(\");\n}\n"
                .to_string(),
            "mod t {\n    #[test]\n    fn backref_casei_multibyte() {\n        f(\"(?i)(.)\\\\1\", \"aé\");\n    }\n}\n"
                .to_string(),
        ];
        let site: BTreeMap<String, usize> = [("backref", 2), ("casei", 2), ("slot", 2), ("split", 1)]
            .iter()
            .map(|(s, w)| (s.to_string(), *w))
            .collect();
        let related = related_tests(&sources, &site);
        assert_eq!(related.len(), 3, "{related:?}");
        assert!(related[0].contains("fn backref_casei_multibyte()"), "{related:?}");
        assert!(related[1].contains("fn backrefs()"), "{related:?}");
        assert!(related[2].contains("fn split_left()"), "{related:?}");
    }

    #[test]
    fn the_site_words_are_the_function_and_the_match_arm() {
        let src = "fn run(i: &Insn) -> bool {\n    match i {\n        Insn::Lit(c) => true,\n        Insn::Backref { slot, casei } => {\n            check(*slot)\n        }\n    }\n}\n";
        let mut arm = Enclosing {
            line: 5,
            function: None,
            arm: None,
        };
        arm.visit_file(&syn::parse_file(src).unwrap());
        assert_eq!(arm.function.as_deref(), Some("run"));
        assert_eq!(
            arm.arm,
            Some(vec!["Insn".into(), "Backref".into(), "slot".into(), "casei".into()])
        );
    }
}
