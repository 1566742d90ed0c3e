//! # bugstack-sdk-macros
//!
//! The procedural half of `bugstack_sdk::dependencies!()`: at build time it
//! finds the `Cargo.lock` of the crate being compiled (walking up from
//! `CARGO_MANIFEST_DIR`, so a workspace member finds the workspace's lock),
//! reads each resolved package's name and version, and expands to a
//! `&'static [Dependency]`. The expansion `include_bytes!`s the lock file, so
//! the crate is rebuilt whenever the lock changes.
//!
//! Use it through `bugstack-sdk`, which passes its own path in (`$crate`):
//! this crate names no type itself.

mod lock;

use proc_macro::TokenStream;
use quote::quote;

/// `dependencies_in!($crate)`: the resolved dependencies of the crate being
/// compiled, as `&'static [$crate::Dependency]`. Called by
/// `bugstack_sdk::dependencies!()`; not meant to be used directly.
#[doc(hidden)]
#[proc_macro]
pub fn dependencies_in(input: TokenStream) -> TokenStream {
    let krate = proc_macro2::TokenStream::from(input);
    let expansion = match std::env::var_os("CARGO_MANIFEST_DIR") {
        None => Err("CARGO_MANIFEST_DIR is not set: build with cargo".to_string()),
        Some(dir) => lock::find_and_read(std::path::Path::new(&dir)),
    };
    match expansion {
        Ok(found) => {
            let Some(path) = found.path.to_str() else {
                let msg = format!("the path of {} is not UTF-8", found.path.display());
                return quote!(::core::compile_error!(#msg)).into();
            };
            let names = found.packages.iter().map(|p| p.name.as_str());
            let versions = found.packages.iter().map(|p| p.version.as_str());
            quote!({
                // Rebuild when the lock changes (the bytes end up nowhere).
                const _: &[u8] = ::core::include_bytes!(#path);
                const DEPENDENCIES: &[#krate::Dependency] = &[
                    #( #krate::Dependency::from_static(#names, #versions), )*
                ];
                DEPENDENCIES
            })
            .into()
        }
        Err(msg) => {
            let msg = format!("bugstack_sdk::dependencies!(): {msg}");
            quote!(::core::compile_error!(#msg)).into()
        }
    }
}
