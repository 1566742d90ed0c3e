//! The expansion of `#[omit_empty]`: one `#[serde(...)]` added per field that
//! can be empty.

use proc_macro2::{TokenStream, TokenTree};
use quote::ToTokens;
use syn::{parse_quote, Attribute, Data, DeriveInput, Field, Type};

/// The field marker that keeps a field serialized when it is empty.
const ALWAYS: &str = "serialize_always";

/// serde field attributes that already decide whether the field is written.
const DECIDED: [&str; 4] = ["skip_serializing_if", "skip", "skip_serializing", "flatten"];

/// `item` with the attributes added, or why it cannot take them.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new_spanned(args, "#[omit_empty] takes no arguments"));
    }
    let mut input: DeriveInput = syn::parse2(item)?;
    let Data::Struct(data) = &mut input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "#[omit_empty] applies to structs",
        ));
    };
    for field in data.fields.iter_mut() {
        annotate(field);
    }
    Ok(input.into_token_stream())
}

/// Adds the `#[serde(...)]` that leaves `field` out when empty, unless the
/// field opts out or already decides.
fn annotate(field: &mut Field) {
    let before = field.attrs.len();
    field.attrs.retain(|a| !a.path().is_ident(ALWAYS));
    if field.attrs.len() != before {
        return;
    }
    let Some(is_empty) = emptiness_check(&field.ty) else {
        return;
    };
    let words: Vec<String> = field.attrs.iter().flat_map(serde_words).collect();
    if words.iter().any(|w| DECIDED.contains(&w.as_str())) {
        return;
    }
    let attr: Attribute = if words.iter().any(|w| w == "default") {
        parse_quote!(#[serde(skip_serializing_if = #is_empty)])
    } else {
        parse_quote!(#[serde(default, skip_serializing_if = #is_empty)])
    };
    field.attrs.push(attr);
}

/// The path of the function that tells whether a value of `ty` is empty,
/// when `ty` is one of the types that can be.
fn emptiness_check(ty: &Type) -> Option<&'static str> {
    let Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    if last.ident == "Option" {
        Some("Option::is_none")
    } else if last.ident == "Vec" {
        Some("Vec::is_empty")
    } else if last.ident == "BTreeMap" {
        Some("BTreeMap::is_empty")
    } else {
        None
    }
}

/// The top-level words of a `#[serde(...)]` attribute (`default`,
/// `skip_serializing_if`, ...); nothing for any other attribute.
fn serde_words(attr: &Attribute) -> Vec<String> {
    if !attr.path().is_ident("serde") {
        return Vec::new();
    }
    let Ok(list) = attr.meta.require_list() else {
        return Vec::new();
    };
    list.tokens
        .clone()
        .into_iter()
        .filter_map(|t| match t {
            TokenTree::Ident(i) => Some(i.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::*;

    fn expanded(item: TokenStream) -> String {
        expand(TokenStream::new(), item).unwrap().to_string()
    }

    #[test]
    fn empty_kinds_get_their_check() {
        let out = expanded(quote! {
            struct S {
                a: Option<u32>,
                b: Vec<u8>,
                c: std::collections::BTreeMap<String, String>,
                d: u64,
            }
        });
        assert!(out.contains(r#"skip_serializing_if = "Option::is_none""#), "{out}");
        assert!(out.contains(r#"skip_serializing_if = "Vec::is_empty""#), "{out}");
        assert!(out.contains(r#"skip_serializing_if = "BTreeMap::is_empty""#), "{out}");
        assert_eq!(out.matches("serde").count(), 3, "{out}");
    }

    #[test]
    fn own_choices_are_kept() {
        let out = expanded(quote! {
            struct S {
                #[serde(default = "one", skip_serializing_if = "is_one")]
                a: Option<u64>,
                #[serialize_always]
                b: Option<u32>,
                #[serde(default, deserialize_with = "f")]
                c: Option<String>,
            }
        });
        assert!(!out.contains(ALWAYS), "{out}");
        assert_eq!(out.matches("skip_serializing_if").count(), 2, "{out}");
        assert_eq!(out.matches("default").count(), 2, "{out}");
    }

    #[test]
    fn a_missing_field_defaults_even_with_its_own_deserializer() {
        let out = expanded(quote! {
            struct S {
                #[serde(deserialize_with = "f")]
                c: Option<String>,
            }
        });
        assert_eq!(out.matches("default").count(), 1, "{out}");
        assert!(out.contains(r#""Option::is_none""#), "{out}");
    }

    #[test]
    fn enums_and_arguments_are_refused() {
        assert!(expand(TokenStream::new(), quote! { enum E { A } }).is_err());
        assert!(expand(quote! { x }, quote! { struct S { a: u8 } }).is_err());
    }
}
