//! # bugstack-core-macros
//!
//! `#[omit_empty]`, the attribute behind `bugstack_core::omit_empty`: on a
//! struct that derives serde's `Serialize`/`Deserialize`, every field that
//! can be empty — an `Option`, a `Vec` or a `BTreeMap` — is left out of the
//! serialized form when it is empty and reads as empty when it is missing.
//! It writes, on each such field, exactly what would otherwise be written by
//! hand:
//!
//! ```text
//! #[serde(default, skip_serializing_if = "Option::is_none")]   // Vec::is_empty, BTreeMap::is_empty
//! ```
//!
//! A field keeps its own choice when its `#[serde(...)]` already says
//! `skip_serializing_if`, `skip`, `skip_serializing` or `flatten`; `default`
//! is added only where the field does not already name one (so
//! `#[serde(deserialize_with = "...")]` keeps working on a missing field). A
//! field marked `#[serialize_always]` is left as it is (serialized as `null`
//! or `[]`); the marker is removed. The attribute must stand above
//! `#[derive(...)]`, so that serde sees the attributes it writes.
//!
//! Use it through `bugstack-core` (`bugstack_core::omit_empty`).

mod omit_empty;

use proc_macro::TokenStream;

/// Leaves every empty `Option`, `Vec` and `BTreeMap` field of a serde struct
/// off the serialized form, and reads a missing one as empty (see the crate
/// docs for the exact attributes it writes and how a field opts out).
#[proc_macro_attribute]
pub fn omit_empty(args: TokenStream, item: TokenStream) -> TokenStream {
    omit_empty::expand(args.into(), item.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
