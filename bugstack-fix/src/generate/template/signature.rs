//! What the enclosing function returns, and which early returns and error
//! values fit that contract.

use syn::{GenericArgument, PathArguments, ReturnType, Type};

/// An error type the generator can construct a value of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ErrKind {
    /// `String`.
    String,
    /// `&str` / `&'static str`.
    StaticStr,
    /// `Box<dyn Error (+ Send + Sync)>`.
    BoxDynError,
    /// `anyhow::Error` (or `anyhow::Result<T>`).
    Anyhow,
    /// `std::io::Error` (or `io::Result<T>`).
    Io,
    /// Anything else: only `?` on a `Result` may fit (via `From`).
    Other,
}

/// The enclosing function's return type, as far as fixes care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ReturnKind {
    /// `()` (no return type).
    Unit,
    /// `Option<T>`.
    Option,
    /// `Result<T, E>`.
    Result(ErrKind),
    /// A type with an obvious empty value (the Rust expression for it).
    Default(String),
    /// Anything else (`Self`, generics, `impl Trait`, user types).
    Other,
}

impl ReturnKind {
    /// Classifies a function's return type.
    pub(crate) fn of(ret: &ReturnType) -> ReturnKind {
        match ret {
            ReturnType::Default => ReturnKind::Unit,
            ReturnType::Type(_, ty) => classify(ty),
        }
    }

    /// The expression an early `return` gives back when it is the type's
    /// natural empty value (`None`, `0`, `String::new()`, ...). `()` returns
    /// an empty string (for `return;`).
    pub(crate) fn empty_value(&self) -> Option<String> {
        match self {
            ReturnKind::Unit => Some(String::new()),
            ReturnKind::Option => Some("None".into()),
            ReturnKind::Default(v) => Some(v.clone()),
            ReturnKind::Result(_) | ReturnKind::Other => None,
        }
    }

    /// An expression converting an absent value into this function's error,
    /// as a method-call suffix before `?` (e.g. `.ok_or("...")`), when the
    /// error type is one whose values can be written down.
    pub(crate) fn ok_or_suffix(&self, message: &str) -> Option<String> {
        let (err, lit) = self.error_and_literal(message)?;
        Some(match err {
            ErrKind::String => format!(".ok_or_else(|| {lit}.to_string())"),
            ErrKind::StaticStr | ErrKind::BoxDynError => format!(".ok_or({lit})"),
            ErrKind::Anyhow => format!(
                ".ok_or_else(|| anyhow::anyhow!({}))",
                lit.replace('{', "{{").replace('}', "}}")
            ),
            ErrKind::Io => format!(".ok_or_else(|| std::io::Error::new(std::io::ErrorKind::Other, {lit}))"),
            ErrKind::Other => return None,
        })
    }
}

impl ReturnKind {
    /// The error type of a `Result`, with `message` as a string literal.
    fn error_and_literal(&self, message: &str) -> Option<(&ErrKind, String)> {
        let ReturnKind::Result(err) = self else {
            return None;
        };
        Some((err, format!("{message:?}")))
    }

    /// A new `Err(..)` carrying `message`, when the error type is one whose
    /// values can be written down.
    pub(crate) fn err_value(&self, message: &str) -> Option<String> {
        let (err, lit) = self.error_and_literal(message)?;
        Some(match err {
            ErrKind::String => format!("Err({lit}.to_string())"),
            ErrKind::StaticStr => format!("Err({lit})"),
            ErrKind::BoxDynError => format!("Err({lit}.into())"),
            ErrKind::Anyhow => format!("Err(anyhow::anyhow!({}))", lit.replace('{', "{{").replace('}', "}}")),
            ErrKind::Io => format!("Err(std::io::Error::new(std::io::ErrorKind::Other, {lit}))"),
            ErrKind::Other => return None,
        })
    }
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Paren(p) => last_segment(&p.elem),
        Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

fn path_text(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::"),
        _ => String::new(),
    }
}

fn type_args(seg: &syn::PathSegment) -> Vec<&Type> {
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|g| match g {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn classify(ty: &Type) -> ReturnKind {
    match ty {
        Type::Tuple(t) if t.elems.is_empty() => return ReturnKind::Unit,
        Type::Tuple(t) => {
            return if t.elems.iter().all(|e| matches!(classify(e), ReturnKind::Default(_))) {
                ReturnKind::Default("Default::default()".into())
            } else {
                ReturnKind::Other
            };
        }
        Type::Reference(r) if r.mutability.is_none() => {
            return match &*r.elem {
                Type::Path(p) if p.path.is_ident("str") => ReturnKind::Default("\"\"".into()),
                Type::Slice(_) => ReturnKind::Default("&[]".into()),
                _ => ReturnKind::Other,
            };
        }
        _ => {}
    }
    let Some(seg) = last_segment(ty) else {
        return ReturnKind::Other;
    };
    let name = seg.ident.to_string();
    let full = path_text(ty);
    match name.as_str() {
        "Option" => ReturnKind::Option,
        "Result" => {
            let args = type_args(seg);
            let err = match args.get(1) {
                Some(e) => err_kind(e),
                None if full.starts_with("anyhow") => ErrKind::Anyhow,
                None if full.ends_with("io::Result") => ErrKind::Io,
                None => ErrKind::Other,
            };
            ReturnKind::Result(err)
        }
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => {
            ReturnKind::Default("0".into())
        }
        "f32" | "f64" => ReturnKind::Default("0.0".into()),
        "bool" => ReturnKind::Default("false".into()),
        "String" => ReturnKind::Default("String::new()".into()),
        "Vec" => ReturnKind::Default("Vec::new()".into()),
        "HashMap" | "BTreeMap" | "HashSet" | "BTreeSet" | "VecDeque" => {
            ReturnKind::Default("Default::default()".into())
        }
        _ => ReturnKind::Other,
    }
}

fn err_kind(ty: &Type) -> ErrKind {
    if let Type::Reference(r) = ty {
        if let Type::Path(p) = &*r.elem {
            if p.path.is_ident("str") {
                return ErrKind::StaticStr;
            }
        }
        return ErrKind::Other;
    }
    let full = path_text(ty);
    let Some(seg) = last_segment(ty) else {
        return ErrKind::Other;
    };
    match seg.ident.to_string().as_str() {
        "String" => ErrKind::String,
        "Box" => match type_args(seg).first() {
            Some(Type::TraitObject(t)) => {
                let is_error = t.bounds.iter().any(|b| match b {
                    syn::TypeParamBound::Trait(tb) => tb.path.segments.last().is_some_and(|s| s.ident == "Error"),
                    _ => false,
                });
                if is_error {
                    ErrKind::BoxDynError
                } else {
                    ErrKind::Other
                }
            }
            _ => ErrKind::Other,
        },
        "Error" if full.starts_with("anyhow") => ErrKind::Anyhow,
        "Error" if full.ends_with("io::Error") => ErrKind::Io,
        _ => ErrKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(sig: &str) -> ReturnKind {
        let f: syn::ItemFn = syn::parse_str(&format!("fn f() {sig} {{}}")).unwrap();
        ReturnKind::of(&f.sig.output)
    }

    #[test]
    fn return_types_classify() {
        assert_eq!(kind(""), ReturnKind::Unit);
        assert_eq!(kind("-> ()"), ReturnKind::Unit);
        assert_eq!(kind("-> Option<char>"), ReturnKind::Option);
        assert_eq!(kind("-> u32"), ReturnKind::Default("0".into()));
        assert_eq!(kind("-> f64"), ReturnKind::Default("0.0".into()));
        assert_eq!(kind("-> &'static str"), ReturnKind::Default("\"\"".into()));
        assert_eq!(kind("-> Result<u8, String>"), ReturnKind::Result(ErrKind::String));
        assert_eq!(
            kind("-> Result<u8, &'static str>"),
            ReturnKind::Result(ErrKind::StaticStr)
        );
        assert_eq!(
            kind("-> Result<(), Box<dyn std::error::Error + Send + Sync>>"),
            ReturnKind::Result(ErrKind::BoxDynError)
        );
        assert_eq!(kind("-> anyhow::Result<u8>"), ReturnKind::Result(ErrKind::Anyhow));
        assert_eq!(kind("-> std::io::Result<u8>"), ReturnKind::Result(ErrKind::Io));
        assert_eq!(kind("-> Result<u8, ParseError>"), ReturnKind::Result(ErrKind::Other));
        assert_eq!(kind("-> Self"), ReturnKind::Other);
        assert_eq!(
            kind("-> (u32, Vec<u8>)"),
            ReturnKind::Default("Default::default()".into())
        );
    }

    #[test]
    fn error_values_are_written_only_when_obvious() {
        assert_eq!(
            kind("-> Result<u8, String>").ok_or_suffix("no value").as_deref(),
            Some(".ok_or_else(|| \"no value\".to_string())")
        );
        assert_eq!(kind("-> Result<u8, ParseError>").ok_or_suffix("x"), None);
        assert_eq!(kind("-> u8").ok_or_suffix("x"), None);
    }
}
