//! Reading Rust files that `syn` does not parse whole.
//!
//! Crates of an old edition still build but hold syntax `syn` 2 rejects
//! (a bare `Fn(&T) -> R` trait object in a type alias, for one). Reading
//! such a file item by item, and leaving out the items that do not parse,
//! keeps every other function visible to the context builder, the template
//! generator and the reproduction search. A patched file must stay as
//! readable as it was ([`still_parses`]): whole when it parsed whole, else
//! with no item lost.

use proc_macro2::{Delimiter, TokenTree};
use syn::parse::discouraged::Speculative;
use syn::parse::{ParseStream, Parser};

/// `text` parsed as a file; when some items do not parse, the file without
/// them. The error is `syn::parse_file`'s, when not even the tokens read
/// (an unclosed delimiter, a bad literal).
pub(crate) fn parse_file(text: &str) -> syn::Result<syn::File> {
    syn::parse_file(text).or_else(|whole| item_by_item.parse_str(text).map(|(f, _)| f).map_err(|_| whole))
}

/// Whether an edit turning `before` into `after` left the file as readable
/// as it was: `after` parses whole, or (where `before` did not either) it
/// leaves out no more items than `before` did.
pub(crate) fn still_parses(before: &str, after: &str) -> bool {
    if syn::parse_file(after).is_ok() {
        return true;
    }
    if syn::parse_file(before).is_ok() {
        return false;
    }
    match (item_by_item.parse_str(before), item_by_item.parse_str(after)) {
        (Ok((b, b_left_out)), Ok((a, a_left_out))) => a_left_out <= b_left_out && a.items.len() >= b.items.len(),
        _ => false,
    }
}

/// Whether `attrs` mark a test function (`#[test]`, `#[tokio::test]`,
/// `#[rstest]`, `#[quickcheck]`).
pub(crate) fn is_test_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| matches!(s.ident.to_string().as_str(), "test" | "rstest" | "quickcheck"))
    })
}

/// Whether `attrs` hold `#[name(.. word ..)]` (`#[cfg(test)]`,
/// `#[doc(hidden)]`).
pub(crate) fn has_attr_word(attrs: &[syn::Attribute], name: &str, word: &str) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident(name)
            && a.meta
                .require_list()
                .is_ok_and(|l| l.tokens.clone().into_iter().any(|t| t.to_string() == word))
    })
}

/// The 1-based line ranges (inclusive) of the file's test code: items
/// marked as tests ([`is_test_attr`]) or `#[cfg(test)]` (a `mod tests`),
/// at any depth of inline modules. Empty when the file does not parse.
pub(crate) fn test_lines(text: &str) -> Vec<std::ops::RangeInclusive<usize>> {
    use syn::spanned::Spanned;
    fn is_test(attrs: &[syn::Attribute]) -> bool {
        is_test_attr(attrs) || has_attr_word(attrs, "cfg", "test")
    }
    fn walk(items: &[syn::Item], out: &mut Vec<std::ops::RangeInclusive<usize>>) {
        for item in items {
            let attrs: &[syn::Attribute] = match item {
                syn::Item::Fn(f) => &f.attrs,
                syn::Item::Mod(m) => &m.attrs,
                syn::Item::Impl(i) => &i.attrs,
                syn::Item::Use(u) => &u.attrs,
                syn::Item::Const(c) => &c.attrs,
                syn::Item::Static(s) => &s.attrs,
                syn::Item::Struct(s) => &s.attrs,
                syn::Item::Enum(e) => &e.attrs,
                _ => &[],
            };
            if is_test(attrs) {
                out.push(item.span().start().line..=item.span().end().line);
            } else if let syn::Item::Mod(syn::ItemMod {
                content: Some((_, inner)),
                ..
            }) = item
            {
                walk(inner, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Ok(file) = parse_file(text) {
        walk(&file.items, &mut out);
    }
    out
}

/// The file's items that parse, and how many were left out.
fn item_by_item(input: ParseStream<'_>) -> syn::Result<(syn::File, usize)> {
    let attrs = input.call(syn::Attribute::parse_inner)?;
    let mut items = Vec::new();
    let mut left_out = 0;
    while !input.is_empty() {
        let fork = input.fork();
        match fork.parse::<syn::Item>() {
            Ok(item) => {
                input.advance_to(&fork);
                items.push(item);
            }
            Err(_) => {
                skip_item(input)?;
                left_out += 1;
            }
        }
    }
    let file = syn::File {
        shebang: None,
        attrs,
        items,
    };
    Ok((file, left_out))
}

/// Consumes the tokens of one item: up to a `;` or a `{ … }` block.
fn skip_item(input: ParseStream<'_>) -> syn::Result<()> {
    input.step(|cursor| {
        let mut rest = *cursor;
        while let Some((tt, next)) = rest.token_tree() {
            rest = next;
            match &tt {
                TokenTree::Punct(p) if p.as_char() == ';' => break,
                TokenTree::Group(g) if g.delimiter() == Delimiter::Brace => break,
                _ => {}
            }
        }
        Ok(((), rest))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_code_is_found_at_any_depth() {
        let text = "fn f() -> u32 {\n    1\n}\n\nmod inner {\n    #[test]\n    fn t() {}\n}\n\n#[cfg(test)]\nmod tests {\n    #[test]\n    fn u() {}\n}\n";
        assert_eq!(test_lines(text), vec![6..=7, 10..=14]);
        assert!(test_lines("fn broken( {").is_empty());
    }

    #[test]
    fn an_item_of_an_old_edition_is_left_out_and_the_rest_kept() {
        let text = "//! Docs.\n#![allow(deprecated)]\nuse std::fmt;\n\npub type Formatter = Fn(&u32, &mut String) -> Result<(), ()>;\n\n#[derive(Debug)]\npub struct S {\n    a: u32,\n}\n\npub fn add(a: u32) -> u32 {\n    a + 1\n}\n";
        assert!(syn::parse_file(text).is_err(), "syn 2 rejects the alias");
        let file = parse_file(text).unwrap();
        let names: Vec<String> = file
            .items
            .iter()
            .filter_map(|i| match i {
                syn::Item::Fn(f) => Some(f.sig.ident.to_string()),
                syn::Item::Struct(s) => Some(s.ident.to_string()),
                syn::Item::Use(_) => Some("use".into()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["use", "S", "add"]);
        assert_eq!(file.attrs.len(), 2);
        // Lines still come from the original text.
        let syn::Item::Fn(f) = &file.items[2] else { panic!() };
        assert_eq!(syn::spanned::Spanned::span(&f.sig.ident).start().line, 12);
    }

    #[test]
    fn an_edit_must_leave_the_file_as_readable_as_it_was() {
        let old = "pub type F = Fn(&u32) -> u32;\nfn f(v: &[u32]) -> u32 {\n    v[0]\n}\n";
        assert!(still_parses(
            old,
            &old.replace("v[0]", "v.first().copied().unwrap_or(0)")
        ));
        assert!(!still_parses(old, &old.replace("v[0]", "v[0] +")));
        let clean = "fn f() {}\n";
        assert!(still_parses(clean, "fn f() { g(); }\n"));
        assert!(!still_parses(clean, "pub type F = Fn(&u32) -> u32;\nfn f() {}\n"));
    }

    #[test]
    fn unreadable_tokens_are_an_error() {
        assert!(parse_file("fn f() {").is_err());
        assert!(parse_file("fn f() {}\n").is_ok());
    }
}
