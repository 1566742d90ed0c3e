//! Type parameters made concrete, so the harness can call a generic
//! function (`lcs::diff<Old, New, D>`, `FisherF::<F>::new`): each type
//! parameter gets one type picked by its bounds, and the signature's types
//! are rewritten with it.
//!
//! The pick is a guess the compiler checks: bounds on other types
//! (`New::Output: PartialEq<Old::Output>`, `StandardNormal:
//! Distribution<F>`) are left to it, and a harness that does not build is
//! a search that found nothing, never a wrong claim.

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens;

/// One type parameter and the type the harness uses for it.
pub(crate) type Binding = (String, syn::Type);

/// Traits of floating-point numbers (`num_traits`, `rand_distr`,
/// `nalgebra`): `f64`.
const FLOAT_TRAITS: &[&str] = &["Float", "FloatCore", "Real", "RealField", "FloatConst", "ComplexField"];
/// Traits of unsigned integers: `u32`.
const UNSIGNED_TRAITS: &[&str] = &["Unsigned"];
/// Traits of integers or numbers in general: `i64` (signed, so that both
/// ends overflow).
const NUMBER_TRAITS: &[&str] = &[
    "PrimInt",
    "Integer",
    "Signed",
    "Num",
    "NumOps",
    "NumCast",
    "Zero",
    "One",
    "Bounded",
    "CheckedAdd",
    "CheckedSub",
    "CheckedMul",
    "CheckedDiv",
    "WrappingAdd",
    "WrappingSub",
    "WrappingMul",
    "Saturating",
    "ToPrimitive",
    "FromPrimitive",
    "AsPrimitive",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Rem",
    "Shl",
    "Shr",
    "BitAnd",
    "BitOr",
    "BitXor",
    "Not",
    "Neg",
];
/// Traits of indexable sequences: `[u8]` when unsized, else `Vec<u8>`.
const SEQUENCE_TRAITS: &[&str] = &["Index", "IndexMut", "Deref"];
/// Traits of text: `str` when unsized, else `String`.
const TEXT_TRAITS: &[&str] = &["Display", "ToString"];
/// Traits every small integer has: `u8` (few values, so equal elements are
/// common, which sequence algorithms need to reach their corner cases).
const MARKER_TRAITS: &[&str] = &[
    "Clone",
    "Copy",
    "Debug",
    "PartialEq",
    "Eq",
    "Hash",
    "Ord",
    "PartialOrd",
    "Default",
    "Send",
    "Sync",
    "Sized",
    "Unpin",
    "UnwindSafe",
    "RefUnwindSafe",
];

/// Crates whose types [`pick`] may name; the harness then depends on them
/// (the crate under test does, or it could not name their traits).
pub(crate) const DEPENDENCY_CRATES: &[&str] = &["serde"];

/// `std::io`'s traits of readers and writers (and `fmt::Write`).
const IO_TRAITS: &[&str] = &["Read", "BufRead", "Seek", "Write"];

/// The type for a parameter bounded by `std::io`'s traits, with the first
/// of those bounds (a type of the crate implementing it is preferred): a
/// reader is `&[u8]` (its bytes are generated like any byte input), a
/// seeking one an in-memory `Cursor<Vec<u8>>`, a writer `Vec<u8>`
/// (`String` for `fmt::Write`); `None` when no bound is one of these.
fn io_type<'p>(traits: &[&'p syn::Path]) -> Option<(&'p syn::Path, &'static str)> {
    let named = |n: &str| -> Option<&'p syn::Path> {
        traits
            .iter()
            .copied()
            .find(|p| p.segments.last().is_some_and(|s| s.ident == n))
    };
    let first = traits.iter().copied().find(|p| {
        p.segments
            .last()
            .is_some_and(|s| IO_TRAITS.iter().any(|t| s.ident == t))
    })?;
    let ty = if named("Seek").is_some() {
        "std::io::Cursor<Vec<u8>>"
    } else if named("Read").or_else(|| named("BufRead")).is_some() {
        "&[u8]"
    } else if first.segments.iter().any(|s| s.ident == "fmt") {
        "String"
    } else {
        "Vec<u8>"
    };
    Some((first, ty))
}

/// Concrete types for the type parameters of `generics` (an impl's, then
/// its method's), picked by their bounds; `crate_type` names a type of the
/// crate implementing the crate's trait of that name. A const parameter,
/// or a bound no known type meets, is an error saying which.
pub(crate) fn instantiate(
    generics: &[&syn::Generics],
    crate_type: &mut dyn FnMut(&str) -> Option<syn::Type>,
) -> Result<Vec<Binding>, String> {
    let mut out = Vec::new();
    for g in generics {
        for param in &g.params {
            match param {
                syn::GenericParam::Lifetime(_) => {}
                syn::GenericParam::Const(c) => return Err(format!("const generic parameter `{}`", c.ident)),
                syn::GenericParam::Type(t) => {
                    let mut bounds: Vec<syn::TypeParamBound> = t.bounds.iter().cloned().collect();
                    if let Some(w) = &g.where_clause {
                        for p in &w.predicates {
                            if let syn::WherePredicate::Type(pt) = p {
                                if matches!(&pt.bounded_ty, syn::Type::Path(tp) if tp.qself.is_none() && tp.path.is_ident(&t.ident))
                                {
                                    bounds.extend(pt.bounds.iter().cloned());
                                }
                            }
                        }
                    }
                    let ty = pick(&bounds, crate_type).map_err(|why| format!("type parameter `{}`: {why}", t.ident))?;
                    out.push((t.ident.to_string(), ty));
                }
            }
        }
    }
    Ok(out)
}

/// The type for a parameter (or an `impl Trait` argument) bounded by
/// `bounds`.
pub(crate) fn pick(
    bounds: &[syn::TypeParamBound],
    crate_type: &mut dyn FnMut(&str) -> Option<syn::Type>,
) -> Result<syn::Type, String> {
    let mut sized = true;
    let mut traits: Vec<&syn::Path> = Vec::new();
    for b in bounds {
        if let syn::TypeParamBound::Trait(t) = b {
            if matches!(t.modifier, syn::TraitBoundModifier::Maybe(_)) {
                sized = false;
            } else {
                traits.push(&t.path);
            }
        }
    }
    let name = |p: &syn::Path| p.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
    // `AsRef<str>`, `Borrow<[u8]>`, `Into<String>`: what the argument says.
    let argument = |p: &syn::Path| match &p.segments.last()?.arguments {
        syn::PathArguments::AngleBracketed(a) => a.args.iter().find_map(|x| match x {
            syn::GenericArgument::Type(t) => Some(t.to_token_stream().to_string().replace(' ', "")),
            _ => None,
        }),
        _ => None,
    };
    let text = if sized { "String" } else { "str" };
    let sequence = if sized { "Vec<u8>" } else { "[u8]" };
    let is = |list: &[&str]| traits.iter().any(|p| list.contains(&name(p).as_str()));
    let chosen: String = if is(FLOAT_TRAITS) {
        "f64".into()
    } else if is(UNSIGNED_TRAITS) {
        "u32".into()
    } else if is(NUMBER_TRAITS) {
        "i64".into()
    } else if let Some(p) = traits
        .iter()
        .find(|p| matches!(name(p).as_str(), "AsRef" | "Borrow" | "Into"))
    {
        match argument(p).as_deref() {
            Some("str") | Some("String") => text.into(),
            Some("[u8]") | Some("Vec<u8>") => sequence.into(),
            Some("Path") | Some("PathBuf") => return Err("a path argument".into()),
            _ => return Err(format!("bound `{}`", p.to_token_stream())),
        }
    } else if is(&["BuildHasher"]) {
        // A map's hasher parameter (`S: BuildHasher`): std's.
        "std::collections::hash_map::RandomState".into()
    } else if let Some((bound, io)) = io_type(&traits) {
        // A decoder's input or an encoder's output, unless the crate has a
        // type of its own implementing a trait of that name.
        if let Some(t) = crate_type(&name(bound)) {
            return Ok(t);
        }
        io.into()
    } else if is(&["Deserialize", "DeserializeOwned"]) {
        // What a format's `from_str::<T>` reads: a type that takes any
        // input the format parses, so the whole grammar is reached.
        "serde::de::IgnoredAny".into()
    } else if let Some(p) = traits.iter().find(|p| name(p) == "RangeBounds") {
        // `R: RangeBounds<usize>` (a slice's or a drain's range): `a..b`.
        match argument(p).as_deref() {
            Some(int) if crate::reproduce::shape::INTS.contains(&int) => format!("std::ops::Range<{int}>"),
            _ => return Err(format!("bound `{}`", p.to_token_stream())),
        }
    } else if is(SEQUENCE_TRAITS) {
        sequence.into()
    } else if is(TEXT_TRAITS) {
        text.into()
    } else if let Some(own) = traits.iter().find(|p| !MARKER_TRAITS.contains(&name(p).as_str())) {
        // The crate's own trait: a type of the crate implementing it.
        return crate_type(&name(own)).ok_or_else(|| {
            format!(
                "no type the harness can build implements `{}`",
                own.to_token_stream().to_string().replace(' ', "")
            )
        });
    } else {
        "u8".into()
    };
    syn::parse_str(&chosen).map_err(|e| e.to_string())
}

/// `ty` with each name of `bindings` (a type parameter, or `Self`)
/// replaced by its type; `None` when the result is not a type (a
/// parameter's associated type, `T::Output`, whose type is not written).
pub(crate) fn substitute(ty: &syn::Type, bindings: &[Binding]) -> Option<syn::Type> {
    if bindings.is_empty() {
        return Some(ty.clone());
    }
    let with: Vec<(String, TokenStream)> = bindings.iter().map(|(n, t)| (n.clone(), t.to_token_stream())).collect();
    syn::parse2(walk(ty.to_token_stream(), &with)).ok()
}

fn walk(ts: TokenStream, with: &[(String, TokenStream)]) -> TokenStream {
    let tokens: Vec<TokenTree> = ts.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    for (k, tt) in tokens.iter().enumerate() {
        match tt {
            TokenTree::Ident(i) => match with.iter().find(|(n, _)| i == n) {
                // A single token tree (`[u8]`, `u8`) stands as it is, unless
                // a path goes on from it (`T::Output`: parenthesised, so it
                // no longer parses). Otherwise parenthesised: `&Self` with
                // `Self = &[u8]` stays one type.
                Some((_, t))
                    if t.clone().into_iter().count() == 1
                        && !matches!(tokens.get(k + 1), Some(TokenTree::Punct(p)) if p.as_char() == ':') =>
                {
                    out.extend(t.clone())
                }
                Some((_, t)) => out.push(TokenTree::Group(Group::new(Delimiter::Parenthesis, t.clone()))),
                None => out.push(tt.clone()),
            },
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), walk(g.stream(), with));
                group.set_span(g.span());
                out.push(TokenTree::Group(group));
            }
            other => out.push(other.clone()),
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picked(generics: &str) -> Result<Vec<String>, String> {
        let item: syn::ItemFn = syn::parse_str(&format!("fn f{generics} {{}}")).unwrap();
        let mut crate_type = |n: &str| (n == "DiffHook").then(|| syn::parse_str("Capture").unwrap());
        Ok(instantiate(&[&item.sig.generics], &mut crate_type)?
            .into_iter()
            .map(|(n, t)| format!("{n}={}", t.to_token_stream().to_string().replace(' ', "")))
            .collect())
    }

    #[test]
    fn parameters_are_picked_by_their_bounds() {
        assert_eq!(
            picked("<'a, Old: Index<usize> + ?Sized, New, D: DiffHook>(d: &mut D) where New: Index<usize>, New::Output: PartialEq").unwrap(),
            ["Old=[u8]", "New=Vec<u8>", "D=Capture"]
        );
        assert_eq!(
            picked("<F>() where F: Float, StandardNormal: Distribution<F>").unwrap(),
            ["F=f64"]
        );
        assert_eq!(
            picked("<S: AsRef<str>, T: ?Sized + Display, U: Unsigned, K: Hash + Eq>()").unwrap(),
            ["S=String", "T=str", "U=u32", "K=u8"]
        );
        assert_eq!(
            picked("<R>(r: R) where R: std::ops::RangeBounds<usize>").unwrap(),
            ["R=std::ops::Range<usize>"]
        );
        assert_eq!(
            picked("<K: Hash + Eq, S: BuildHasher + Default>()").unwrap(),
            ["K=u8", "S=std::collections::hash_map::RandomState"]
        );
        assert_eq!(
            picked("<R: Read, B: BufRead + ?Sized, S: Read + Seek, W: io::Write, F: fmt::Write>()").unwrap(),
            [
                "R=&[u8]",
                "B=&[u8]",
                "S=std::io::Cursor<Vec<u8>>",
                "W=Vec<u8>",
                "F=String"
            ]
        );
        assert_eq!(
            picked("<'de, T: serde::Deserialize<'de>, U: DeserializeOwned>()").unwrap(),
            ["T=serde::de::IgnoredAny", "U=serde::de::IgnoredAny"]
        );
        // The crate's own type implementing a trait of that name comes first.
        let item: syn::ItemFn = syn::parse_str("fn f<W: Write>() {}").unwrap();
        let mut own = |n: &str| (n == "Write").then(|| syn::parse_str("Sink").unwrap());
        let t = instantiate(&[&item.sig.generics], &mut own).unwrap();
        assert_eq!(t[0].1.to_token_stream().to_string(), "Sink");
        let why = picked("<R: RangeBounds<char>>()").unwrap_err();
        assert!(why.contains("RangeBounds"), "{why}");
        let why = picked("<R: RngCore>()").unwrap_err();
        assert!(why.contains("`R`") && why.contains("RngCore"), "{why}");
        assert!(picked("<const N: usize>()").unwrap_err().contains("const"));
    }

    #[test]
    fn substitution_keeps_one_type_per_parameter() {
        let ty: syn::Type = syn::parse_str("&mut Vec<(Old, &Self)>").unwrap();
        let bindings = vec![
            ("Old".to_string(), syn::parse_str("[u8]").unwrap()),
            ("Self".to_string(), syn::parse_str("&[u8]").unwrap()),
        ];
        let out = substitute(&ty, &bindings).unwrap();
        assert_eq!(
            out.to_token_stream().to_string().replace(' ', ""),
            "&mutVec<([u8],&(&[u8]))>"
        );
        let assoc: syn::Type = syn::parse_str("Old::Output").unwrap();
        for with in ["Vec<u8>", "u8"] {
            assert!(
                substitute(&assoc, &[("Old".into(), syn::parse_str(with).unwrap())]).is_none(),
                "{with}"
            );
        }
    }
}
