//! Symbol resolution (on the worker thread), with a cache of resolved
//! addresses, in-app marking and trimming of the SDK's and the panic
//! machinery's own frames.

use std::collections::HashMap;
use std::sync::Arc;

use bugstack_core::Frame;

/// Most cached addresses; the cache is cleared when it grows past this.
const CACHE_LIMIT: usize = 32 * 1024;

/// Crates whose frames are never in-app.
const NOT_IN_APP_CRATES: &[&str] = &[
    "std",
    "core",
    "alloc",
    "backtrace",
    "bugstack_sdk",
    "bugstack_core",
    "tokio",
    "futures_util",
    "futures_core",
    "tower",
    "hyper",
    "axum",
    "tracing",
    "tracing_core",
    "tracing_subscriber",
    "anyhow",
    "test",
];

/// Functions that belong to the capture or panic machinery: leading frames up
/// to the last of these are cut.
const MACHINERY: &[&str] = &[
    "backtrace::",
    "bugstack_sdk::",
    "std::panicking::begin_panic",
    "std::panicking::rust_panic_with_hook",
    "std::panicking::panic_with_hook",
    "std::panicking::default_hook",
    "std::panicking::panic_handler",
    "std::panicking::begin_panic_handler",
    "std::sys::backtrace::__rust_end_short_backtrace",
    "std::sys_common::backtrace::__rust_end_short_backtrace",
    "rust_begin_unwind",
    "__rustc::rust_begin_unwind",
    "core::panicking::",
    "anyhow::",
    "std::backtrace::Backtrace::",
    "std::backtrace_rs::",
    "<anyhow::",
];

/// Frames that may sit between machinery frames (closure shims, boxed `Fn` calls).
const GLUE: &[&str] = &[
    "<alloc::boxed::Box<",
    "core::ops::function::",
    "<core::panic::",
    "<F as ",
    "core::option::",
    "core::result::",
    "arc_swap::",
];

/// One resolved symbol (an address can resolve to several when inlined).
#[derive(Debug, Clone)]
struct Sym {
    function: Option<String>,
    file: Option<String>,
    line: Option<u32>,
    column: Option<u32>,
}

/// Resolves addresses, caching the result per instruction address.
///
/// On Linux, addresses inside the executable are resolved with `addr2line`
/// (no lock shared with the calling threads); others, and every address
/// elsewhere, through `backtrace` (which takes its process-wide lock, once
/// per uncached address).
#[derive(Default)]
pub(crate) struct Resolver {
    cache: HashMap<usize, Arc<[Sym]>>,
    #[cfg(target_os = "linux")]
    exe: Option<Option<crate::exe_symbols::ExeSymbols>>,
}

impl Resolver {
    /// Frames for the return addresses of a stack walk, innermost first.
    pub(crate) fn resolve(&mut self, ips: &[usize]) -> Vec<Frame> {
        let mut out = Vec::with_capacity(ips.len());
        for &ip in ips {
            let syms = match self.cache.get(&ip) {
                Some(s) => Arc::clone(s),
                None => {
                    let s = self.resolve_exe(ip).unwrap_or_else(|| resolve_one(ip));
                    if self.cache.len() >= CACHE_LIMIT {
                        self.cache.clear();
                    }
                    self.cache.insert(ip, Arc::clone(&s));
                    s
                }
            };
            if syms.is_empty() {
                out.push(Frame {
                    address: Some(format!("{ip:#x}")),
                    ..Frame::default()
                });
            }
            for s in syms.iter() {
                out.push(Frame {
                    module: s.function.as_deref().and_then(module_of),
                    function: s.function.clone(),
                    file: s.file.clone(),
                    line: s.line,
                    column: s.column,
                    in_app: false,
                    address: if s.function.is_none() {
                        Some(format!("{ip:#x}"))
                    } else {
                        None
                    },
                });
            }
        }
        out
    }

    #[cfg(target_os = "linux")]
    fn resolve_exe(&mut self, ip: usize) -> Option<Arc<[Sym]>> {
        let exe = self
            .exe
            .get_or_insert_with(crate::exe_symbols::ExeSymbols::open)
            .as_ref()?;
        let syms = exe.resolve(ip as u64)?;
        if syms.is_empty() {
            return None;
        }
        Some(
            syms.into_iter()
                .map(|s| Sym {
                    function: s.function,
                    file: s.file,
                    line: s.line,
                    column: s.column,
                })
                .collect(),
        )
    }

    #[cfg(not(target_os = "linux"))]
    fn resolve_exe(&mut self, _ip: usize) -> Option<Arc<[Sym]>> {
        None
    }

    /// Number of cached addresses.
    #[cfg(test)]
    pub(crate) fn cached(&self) -> usize {
        self.cache.len()
    }
}

fn resolve_one(ip: usize) -> Arc<[Sym]> {
    // `backtrace::resolve` looks up `ip - 1`: a return address points after
    // the call, and the call is the line wanted.
    let mut syms = Vec::new();
    backtrace::resolve(ip as *mut std::ffi::c_void, |s| {
        syms.push(Sym {
            function: s.name().map(|n| format!("{n:#}")),
            file: s.filename().map(|p| p.to_string_lossy().into_owned()),
            line: s.lineno(),
            column: s.colno(),
        });
    });
    syms.into()
}

/// The module path of a function path: `a::b::f` → `a::b`,
/// `<a::B as c::D>::f` → `a` (the path of the implementing type, minus its name).
pub(crate) fn module_of(function: &str) -> Option<String> {
    let path = type_path(function);
    let path = path.split('<').next().unwrap_or(path);
    let (module, _) = path.rsplit_once("::")?;
    Some(module.to_string())
}

/// The leading path of a function name with `<`, `&`, `mut `, `dyn ` and
/// `impl ` stripped: `<&mut a::B as X>::f` → `a::B as X>::f`.
fn type_path(function: &str) -> &str {
    let mut s = function.trim_start();
    loop {
        let before = s;
        for p in ["<", "&", "mut ", "dyn ", "impl ", "*const ", "*mut "] {
            s = s.strip_prefix(p).unwrap_or(s);
        }
        if s == before {
            break;
        }
    }
    let end = s.find([' ', '>']).unwrap_or(s.len());
    &s[..end]
}

/// The crate a function belongs to (first path segment of its leading type path).
pub(crate) fn crate_of(function: &str) -> &str {
    let p = type_path(function);
    let end = p.find("::").or_else(|| p.find('<')).unwrap_or(p.len());
    &p[..end]
}

/// Decides which frames are the application's.
#[derive(Debug, Clone)]
pub(crate) struct InApp {
    prefixes: Vec<String>,
}

impl InApp {
    pub(crate) fn new(prefixes: Vec<String>) -> Self {
        InApp { prefixes }
    }

    pub(crate) fn is_in_app(&self, frame: &Frame) -> bool {
        let Some(function) = frame.function.as_deref() else {
            return false;
        };
        if let Some(file) = frame.file.as_deref() {
            let f = file.replace('\\', "/");
            if f.contains("/.cargo/registry/") || f.contains("/.cargo/git/") || f.starts_with("/rustc/") {
                return false;
            }
        }
        let krate = crate_of(function);
        if NOT_IN_APP_CRATES.contains(&krate) {
            return false;
        }
        let path = type_path(function);
        self.prefixes.iter().any(|p| {
            path == p
                || path
                    .strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('<'))
        })
    }
}

/// Cuts the leading frames of the capture and panic machinery, keeps at most
/// `max` frames, and marks in-app frames.
pub(crate) fn finish_frames(mut frames: Vec<Frame>, in_app: &InApp, max: usize) -> Vec<Frame> {
    let mut cut = 0;
    for (i, f) in frames.iter().enumerate() {
        let Some(name) = f.function.as_deref() else {
            continue;
        };
        if MACHINERY.iter().any(|m| name.starts_with(m)) {
            cut = i + 1;
        } else if GLUE.iter().any(|g| name.starts_with(g)) {
            continue;
        } else {
            break;
        }
    }
    if cut >= frames.len() {
        cut = 0;
    }
    frames.drain(..cut);
    frames.truncate(max);
    for f in &mut frames {
        f.in_app = in_app.is_in_app(f);
    }
    frames
}

/// Frames from the `Debug` rendering of a `std::backtrace::Backtrace`:
/// `Backtrace [{ fn: "a::b", file: "./src/x.rs", line: 3 }, ...]`.
pub(crate) fn parse_std_backtrace(debug: &str) -> Vec<Frame> {
    let mut frames = Vec::new();
    for entry in debug.split("{ fn: ").skip(1) {
        let function = quoted(entry);
        let file = entry.split_once("file: ").and_then(|(_, r)| quoted(r));
        let line = entry
            .split_once("line: ")
            .and_then(|(_, r)| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok());
        let function = function.map(|f| strip_hash(&f).to_string());
        frames.push(Frame {
            module: function.as_deref().and_then(module_of),
            function,
            file,
            line,
            ..Frame::default()
        });
    }
    frames
}

fn quoted(s: &str) -> Option<String> {
    let rest = s.strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return Some(out),
            c => out.push(c),
        }
    }
    None
}

/// `a::b::h0123456789abcdef` → `a::b`.
fn strip_hash(f: &str) -> &str {
    match f.rsplit_once("::") {
        Some((head, tail))
            if tail.len() == 17 && tail.starts_with('h') && tail[1..].bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            head
        }
        _ => f,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(f: &str, file: &str) -> Frame {
        Frame {
            function: Some(f.into()),
            file: Some(file.into()),
            ..Frame::default()
        }
    }

    #[test]
    fn modules_and_crates_of_function_paths() {
        assert_eq!(
            module_of("shop::cart::Cart::total").as_deref(),
            Some("shop::cart::Cart")
        );
        assert_eq!(module_of("shop::main").as_deref(), Some("shop"));
        assert_eq!(crate_of("<shop::Cart as core::fmt::Display>::fmt"), "shop");
        assert_eq!(crate_of("<&mut alloc::vec::Vec<T> as x::Y>::z"), "alloc");
        assert_eq!(crate_of("std::panicking::try"), "std");
    }

    #[test]
    fn in_app_by_prefix_never_std_or_registry() {
        let ia = InApp::new(vec!["shop".into()]);
        assert!(ia.is_in_app(&frame("shop::cart::total", "src/cart.rs")));
        assert!(ia.is_in_app(&frame("<shop::Cart as core::fmt::Display>::fmt", "src/cart.rs")));
        assert!(!ia.is_in_app(&frame("shopping::x", "src/x.rs")));
        assert!(!ia.is_in_app(&frame("std::rt::lang_start", "/rustc/abc/library/std/src/rt.rs")));
        assert!(!ia.is_in_app(&frame(
            "shop::vendored",
            "/home/u/.cargo/registry/src/index/shop-1.0/src/lib.rs"
        )));
        assert!(!ia.is_in_app(&Frame::default()));
    }

    #[test]
    fn machinery_frames_are_cut() {
        let frames = vec![
            frame("backtrace::backtrace::trace", "x"),
            frame("bugstack_sdk::hook::on_panic", "x"),
            frame("<alloc::boxed::Box<F,A> as core::ops::function::Fn<Args>>::call", "x"),
            frame("std::panicking::rust_panic_with_hook", "x"),
            frame("core::panicking::panic_fmt", "x"),
            frame("shop::checkout", "src/lib.rs"),
            frame("bugstack_sdk::tower::poll", "x"),
            frame("std::panicking::try", "x"),
        ];
        let out = finish_frames(frames, &InApp::new(vec!["shop".into()]), 10);
        assert_eq!(out[0].function.as_deref(), Some("shop::checkout"));
        assert!(out[0].in_app);
        assert_eq!(out.len(), 3, "frames below the app frame are kept");
    }

    #[test]
    fn resolves_a_real_backtrace_and_caches_addresses() {
        let bt = crate::stack::walk();
        let mut r = Resolver::default();
        let frames = r.resolve(&bt);
        assert!(frames.iter().any(|f| f
            .function
            .as_deref()
            .is_some_and(|n| n.contains("resolves_a_real_backtrace"))));
        let cached = r.cached();
        assert!(cached > 0);
        r.resolve(&bt);
        assert_eq!(r.cached(), cached);
    }

    #[test]
    fn parses_std_backtrace_debug() {
        let dbg = r#"Backtrace [{ fn: "shop::load::h0123456789abcdef", file: "./src/load.rs", line: 12 }, { fn: "std::rt::lang_start" }]"#;
        let frames = parse_std_backtrace(dbg);
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].function.as_deref(), Some("shop::load"));
        assert_eq!(frames[0].file.as_deref(), Some("./src/load.rs"));
        assert_eq!(frames[0].line, Some(12));
        assert_eq!(frames[1].line, None);
    }
}
