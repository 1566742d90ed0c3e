//! The generated search harness (a crate of its own in the validation
//! worktree, depending on the target crate by path and on `proptest`), the
//! regression test a reproduction becomes, and reading the harness's output.
//!
//! **Trust:** the event only contributes structured facts here — the panic's
//! file (a repository path), line and class — and every string that reaches
//! generated code is written with `{:?}`. Function, type and field names come
//! from the repository's source as `syn` parsed it. The shrunk input printed
//! by the harness is parsed back with `syn` and must be a plain literal
//! expression ([`is_plain_literal`]) before it is written into a test.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use quote::ToTokens as _;
use syn::visit::Visit;

use super::shape::Shape;
use super::target::{Callee, LibCrate};

/// The harness's directory inside the validation worktree (never part of a
/// patch).
pub(crate) const HARNESS_DIR: &str = ".bugstack-repro";
/// The harness's test target.
pub(crate) const HARNESS_TEST: &str = "search";
/// Most seed strings (or integers) taken from the crate's tests and docs.
const MAX_SEEDS: usize = 48;
/// Longest seed string kept, in bytes.
const MAX_SEED_LEN: usize = 200;
/// Longest byte-sequence seed kept (a parser's sample input).
const MAX_SEED_BYTES: usize = 1024;
/// Longest shrunk input written into a regression test, in bytes.
const MAX_INPUT_LEN: usize = 4096;
/// How long the regression test waits for the call to return.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

const ARG: &str = "BUGSTACK-REPRO-ARG\t";
const PANIC: &str = "BUGSTACK-REPRO-PANIC\t";
const DONE: &str = "BUGSTACK-REPRO-DONE\t";
/// The line a round of the search starts with: its number and the cases
/// run before it ([`resume_point`]).
const ROUND: &str = "BUGSTACK-REPRO-ROUND\t";
/// The round a resumed search starts at (environment of the harness run).
pub(crate) const FROM_ROUND_ENV: &str = "BUGSTACK_REPRO_FROM_ROUND";
/// The milliseconds left of the budget, for a resumed search.
pub(crate) const BUDGET_ENV: &str = "BUGSTACK_REPRO_BUDGET_MS";
/// The cases run before a resumed search.
pub(crate) const CASES_ENV: &str = "BUGSTACK_REPRO_CASES";
/// The line a round prints when it found a failing case and starts
/// shrinking it.
const SHRINKING: &str = "BUGSTACK-REPRO-SHRINKING\t";
/// The round a resumed search runs without shrinking (its shrinking ended
/// the process).
pub(crate) const UNSHRUNK_ENV: &str = "BUGSTACK_REPRO_UNSHRUNK_ROUND";
/// Set (to anything): the rounds that would change a prepared value by
/// steps leave it as built (its steps ended the process too often).
pub(crate) const STEPS_OFF_ENV: &str = "BUGSTACK_REPRO_STEPS_OFF";

/// Whether `round` of a search changes its prepared values by steps
/// ([`Shape::Prepared`]): every other round, from the second, so the
/// others search as a plan without steps would, case for case.
pub(crate) fn stepped_round(round: u64) -> bool {
    round % STEPPED_EVERY == 0
}

/// See [`stepped_round`].
const STEPPED_EVERY: u64 = 2;

/// Literals from the crate's own tests and docs, seeds for the search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Seeds {
    /// String literals.
    pub strings: Vec<String>,
    /// Integer literals.
    pub ints: Vec<i128>,
    /// Byte sequences: byte-string literals (`b"\x7fELF"`) and arrays of
    /// two or more byte-sized integer literals (`[0x1f, 0x8b, 8]`), the
    /// sample inputs of a parser's tests.
    pub bytes: Vec<Vec<u8>>,
    /// Integer literals the sources pass to that function, per argument
    /// position (the receiver first for a method call), first come first.
    pub args: Vec<Vec<i128>>,
}

impl Seeds {
    /// Reads the literals in `sources` (Rust files; code blocks of their doc
    /// comments too), first come first kept.
    pub(crate) fn collect<'a>(sources: impl IntoIterator<Item = &'a str>) -> Seeds {
        let mut seeds = Seeds::default();
        for text in sources {
            let Ok(file) = crate::rust_file::parse_file(text) else {
                continue;
            };
            seeds.visit_file(&file);
            for block in doc_code_blocks(&file) {
                if let Ok(b) = syn::parse_str::<syn::Block>(&format!("{{\n{block}\n}}")) {
                    seeds.visit_block(&b);
                }
            }
        }
        seeds
    }

    /// [`Seeds::collect`], also recording the integer literals passed at
    /// each argument of calls to `callee` (a function's or method's name).
    pub(crate) fn collect_for<'a>(sources: impl IntoIterator<Item = &'a str>, callee: &str) -> Seeds {
        let mut seeds = Seeds::default();
        let other = Seeds::collect(sources.into_iter().inspect(|text| {
            let Ok(file) = crate::rust_file::parse_file(text) else {
                return;
            };
            let mut calls = CallArgs {
                name: callee,
                args: &mut seeds.args,
            };
            calls.visit_file(&file);
            for block in doc_code_blocks(&file) {
                if let Ok(b) = syn::parse_str::<syn::Block>(&format!("{{\n{block}\n}}")) {
                    calls.visit_block(&b);
                }
            }
        }));
        seeds.strings = other.strings;
        seeds.ints = other.ints;
        seeds.bytes = other.bytes;
        seeds
    }

    /// Adds `other`'s literals this does not have yet, past the cap (the
    /// panicking file's own, whatever the other sources filled).
    pub(crate) fn absorb(&mut self, other: Seeds) {
        for v in other.ints {
            if !self.ints.contains(&v) {
                self.ints.push(v);
            }
        }
        for v in other.strings {
            if !self.strings.contains(&v) {
                self.strings.push(v);
            }
        }
        for v in other.bytes {
            if !self.bytes.contains(&v) {
                self.bytes.push(v);
            }
        }
    }

    /// Keeps the byte sequence `v` when there is room and it is new.
    fn keep_bytes(&mut self, v: Vec<u8>) {
        if self.bytes.len() < MAX_SEEDS && v.len() <= MAX_SEED_BYTES && !self.bytes.contains(&v) {
            self.bytes.push(v);
        }
    }

    /// Keeps the string `v` when there is room and it is new.
    fn keep_string(&mut self, v: String) {
        if self.strings.len() < MAX_SEEDS && !self.strings.contains(&v) {
            self.strings.push(v);
        }
    }

    fn full(&self) -> bool {
        self.strings.len() >= MAX_SEEDS && self.ints.len() >= MAX_SEEDS && self.bytes.len() >= MAX_SEEDS
    }
}

impl<'ast> Visit<'ast> for Seeds {
    fn visit_lit_str(&mut self, l: &'ast syn::LitStr) {
        let v = l.value();
        if v.len() <= MAX_SEED_LEN {
            self.keep_string(v);
        }
    }

    // A char the code compares against (`'{'`, `'\\'`) is a one-char seed
    // the mutations splice into the others.
    fn visit_lit_char(&mut self, l: &'ast syn::LitChar) {
        self.keep_string(l.value().to_string());
    }

    fn visit_lit_byte_str(&mut self, l: &'ast syn::LitByteStr) {
        self.keep_bytes(l.value());
    }

    // `[0x1f, 0x8b, 8]`, `&[1, 2]`, `vec![..]` (a macro's tokens are read
    // as an array): the bytes, when every element is a byte-sized literal.
    fn visit_expr_array(&mut self, a: &'ast syn::ExprArray) {
        let bytes: Option<Vec<u8>> = a
            .elems
            .iter()
            .map(|e| int_literal(e).and_then(|v| u8::try_from(v).ok()))
            .collect();
        if let Some(b) = bytes.filter(|b| b.len() >= 2) {
            self.keep_bytes(b);
        }
        syn::visit::visit_expr_array(self, a);
    }

    fn visit_lit_int(&mut self, l: &'ast syn::LitInt) {
        if let Ok(v) = l.base10_parse::<i128>() {
            if self.ints.len() < MAX_SEEDS && !self.ints.contains(&v) {
                self.ints.push(v);
            }
        }
    }

    fn visit_item(&mut self, i: &'ast syn::Item) {
        if !self.full() {
            syn::visit::visit_item(self, i);
        }
    }

    // `assert_eq!(f("x"), 3)`: the literals of tests are mostly inside macros.
    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if let Some(a) = vec_elements(m) {
            self.visit_expr_array(&a);
            return;
        }
        if let Some(args) = macro_exprs(m) {
            for e in &args {
                self.visit_expr(e);
            }
        }
    }
}

/// Collects the integer literals passed to calls of the function `name`.
struct CallArgs<'s> {
    name: &'s str,
    args: &'s mut Vec<Vec<i128>>,
}

impl CallArgs<'_> {
    fn record(&mut self, position: usize, e: &syn::Expr) {
        let Some(v) = int_literal(e) else { return };
        if self.args.len() <= position {
            self.args.resize_with(position + 1, Vec::new);
        }
        let slot = &mut self.args[position];
        if slot.len() < MAX_SEEDS && !slot.contains(&v) {
            slot.push(v);
        }
    }
}

/// The value of an integer literal, through `&`, `-`, parentheses and `as`.
fn int_literal(e: &syn::Expr) -> Option<i128> {
    match e {
        syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i), ..
        }) => i.base10_parse().ok(),
        syn::Expr::Reference(r) => int_literal(&r.expr),
        syn::Expr::Paren(p) => int_literal(&p.expr),
        syn::Expr::Cast(c) => int_literal(&c.expr),
        syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => int_literal(&u.expr).map(|v| -v),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for CallArgs<'_> {
    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        if matches!(&*c.func, syn::Expr::Path(p) if p.path.segments.last().is_some_and(|l| l.ident == self.name)) {
            for (i, a) in c.args.iter().enumerate() {
                self.record(i, a);
            }
        }
        syn::visit::visit_expr_call(self, c);
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        if m.method == self.name {
            self.record(0, &m.receiver);
            for (i, a) in m.args.iter().enumerate() {
                self.record(i + 1, a);
            }
        }
        syn::visit::visit_expr_method_call(self, m);
    }

    fn visit_macro(&mut self, m: &'ast syn::Macro) {
        if let Some(args) = macro_exprs(m) {
            for e in &args {
                self.visit_expr(e);
            }
        }
    }
}

/// The arguments of a macro call written like a function's
/// (`assert_eq!(f(1), 2)`, `vec![..]`), when they parse as expressions.
/// A `vec![a, b]` macro's elements, read as the array `[a, b]`.
fn vec_elements(m: &syn::Macro) -> Option<syn::ExprArray> {
    if !m.path.is_ident("vec") {
        return None;
    }
    let bracketed = proc_macro2::Group::new(proc_macro2::Delimiter::Bracket, m.tokens.clone());
    syn::parse2(proc_macro2::TokenTree::Group(bracketed).into()).ok()
}

fn macro_exprs(m: &syn::Macro) -> Option<Vec<syn::Expr>> {
    use syn::parse::Parser;
    let parser = syn::punctuated::Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated;
    parser.parse2(m.tokens.clone()).ok().map(|p| p.into_iter().collect())
}

/// The code blocks of a file's doc comments, hidden lines (`# …`) shown.
fn doc_code_blocks(file: &syn::File) -> Vec<String> {
    struct Docs(Vec<String>);
    impl<'ast> Visit<'ast> for Docs {
        fn visit_attribute(&mut self, a: &'ast syn::Attribute) {
            if let syn::Meta::NameValue(nv) = &a.meta {
                if nv.path.is_ident("doc") {
                    if let syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(s), ..
                    }) = &nv.value
                    {
                        self.0.push(s.value());
                    }
                }
            }
        }
    }
    let mut docs = Docs(Vec::new());
    docs.visit_file(file);
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in docs
        .0
        .iter()
        .flat_map(|d| d.lines().map(str::to_string).collect::<Vec<_>>())
    {
        let t = line.trim_start();
        if t.starts_with("```") {
            match current.take() {
                Some(b) => blocks.push(b),
                None => current = Some(String::new()),
            }
            continue;
        }
        if let Some(b) = current.as_mut() {
            let shown = t.strip_prefix("# ").unwrap_or(if t == "#" { "" } else { t });
            b.push_str(shown);
            b.push('\n');
        }
    }
    blocks
}

/// Where the panic must happen for a run to count as a reproduction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Location {
    /// Repository-relative file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
}

/// The harness crate's manifest.
/// `crates`: other crates the harness names (a type a generic parameter
/// was given, `serde::de::IgnoredAny`), at any version: the crate's own
/// lock file, copied beside it, picks the one the crate uses.
pub(crate) fn manifest(krate: &LibCrate, features: &[String], crates: &[&str]) -> String {
    let mut dep = toml::map::Map::new();
    let path = if krate.dir.is_empty() {
        "..".to_string()
    } else {
        format!("../{}", krate.dir)
    };
    dep.insert("path".into(), toml::Value::String(path));
    if !features.is_empty() {
        let list = features.iter().map(|f| toml::Value::String(f.clone())).collect();
        dep.insert("features".into(), toml::Value::Array(list));
    }
    let mut deps = toml::map::Map::new();
    deps.insert(krate.package.clone(), toml::Value::Table(dep));
    deps.insert("proptest".into(), toml::Value::String("1".into()));
    for name in crates {
        deps.entry(name.to_string())
            .or_insert_with(|| toml::Value::String("*".into()));
    }
    let mut package = toml::map::Map::new();
    package.insert("name".into(), toml::Value::String("bugstack-repro-harness".into()));
    package.insert("version".into(), toml::Value::String("0.0.0".into()));
    package.insert("edition".into(), toml::Value::String("2021".into()));
    package.insert("publish".into(), toml::Value::Boolean(false));
    let mut root = toml::map::Map::new();
    root.insert("package".into(), toml::Value::Table(package));
    root.insert("dependencies".into(), toml::Value::Table(deps));
    root.insert("workspace".into(), toml::Value::Table(toml::map::Map::new()));
    toml::to_string(&toml::Value::Table(root)).unwrap_or_default()
}

/// The crate's Cargo features rustc says the harness needs: items "gated
/// behind the `maths` feature" that the harness names but the default
/// features leave out. Only names Cargo allows (letters, digits, `_`, `-`,
/// `+`, `.`), each once.
pub(crate) fn gated_features(build_output: &str) -> Vec<String> {
    const SAYS: &str = "gated behind the `";
    let mut out: Vec<String> = Vec::new();
    for (i, _) in build_output.match_indices(SAYS) {
        let rest = &build_output[i + SAYS.len()..];
        let Some((name, after)) = rest.split_once('`') else {
            continue;
        };
        let cargo_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '.'));
        if cargo_name && after.starts_with(" feature") && !out.iter().any(|f| f == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// The function an `async fn`'s call is driven by, in the generated
/// harness and regression test: it polls the future on the calling thread
/// with a waker that does nothing (no runtime, no `unsafe`), yielding
/// between polls, and panics when it is still pending after 10,000 polls
/// (it waits on I/O or a timer no runtime drives: a hang, for a test).
pub(crate) const BLOCK_ON: &str = r#"
fn bugstack_block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: std::sync::Arc<Self>) {}
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Noop));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    for _ in 0..10_000 {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
    panic!("bugstack: the future was still pending after 10000 polls")
}
"#;

/// The search program: calls `callee` with generated inputs until a case
/// panics at `at`, shrinks it, and prints it as Rust literals.
/// `needles`: the panic message must contain one of them (the class's
/// wording, from bugstack's own table; empty: any panic at the location).
pub(crate) fn search_source(
    callee: &Callee,
    at: &Location,
    needles: &[&str],
    seeds: &Seeds,
    budget: Duration,
) -> String {
    let n = callee.args.len();
    let vars: Vec<String> = (0..n).map(|i| format!("a{i}")).collect();
    let strategies: Vec<String> = callee
        .args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let first = seeds.args.get(i).map(Vec::as_slice).unwrap_or_default();
            let strategy = a.strategy_preferring(first, &seeds.ints, &seeds.strings);
            if a.is_bytes() {
                bytes_strategy(&seeds.bytes, &strategy)
            } else {
                strategy
            }
        })
        .collect();
    // A value its type's own methods change before the call (a
    // `Shape::Prepared` receiver) is changed in every other round only,
    // from the second on: the odd rounds search as if it had no steps.
    let unstepped: Vec<String> = callee
        .args
        .iter()
        .zip(&strategies)
        .map(|(a, s)| {
            a.unstepped_strategy(&seeds.ints, &seeds.strings)
                .unwrap_or_else(|| s.clone())
        })
        .collect();
    let stepped = callee.args.iter().any(Shape::is_prepared);
    let passes: Vec<String> = callee.args.iter().zip(&vars).map(|(a, v)| a.pass(v)).collect();
    let renders: Vec<String> = callee
        .args
        .iter()
        .zip(&vars)
        .map(|(a, v)| format!("        println!(\"{ARG}{{}}\", {});", a.render(&format!("(&{v})"), 0)))
        .collect();
    let tuple_pat = format!("({},)", vars.join(", "));
    // `mut`: a `&mut` argument borrows the generated value mutably.
    let mut_pat = format!(
        "({},)",
        vars.iter().map(|v| format!("mut {v}")).collect::<Vec<_>>().join(", ")
    );
    let tuple_ty = format!(
        "({},)",
        callee.args.iter().map(Shape::owned_type).collect::<Vec<_>>().join(", ")
    );
    let budget_ms = budget.as_millis();
    let file = &at.file;
    let line = at.line;
    let mut s = String::new();
    s.push_str("//! Generated by bugstack: searches for an input that panics at the incident's location.\n");
    s.push_str("#![allow(unused_parens, unused_mut, clippy::all)]\n");
    s.push_str("use proptest::prelude::*;\n");
    s.push_str("use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};\n");
    s.push_str("use std::sync::Mutex;\n\n");
    s.push_str("static HIT: Mutex<Option<(String, u32, String)>> = Mutex::new(None);\n");
    s.push_str(&format!("const FILE: &str = {file:?};\nconst LINE: u32 = {line};\n"));
    s.push_str(&format!("const BUDGET_MS: u128 = {budget_ms};\n"));
    s.push_str(&format!(
        "const ROUND: &str = {ROUND:?};\nconst SHRINKING: &str = {SHRINKING:?};\nconst FROM_ROUND_ENV: &str = {FROM_ROUND_ENV:?};\nconst BUDGET_ENV: &str = {BUDGET_ENV:?};\nconst CASES_ENV: &str = {CASES_ENV:?};\nconst UNSHRUNK_ENV: &str = {UNSHRUNK_ENV:?};\nconst STEPS_OFF_ENV: &str = {STEPS_OFF_ENV:?};\n"
    ));
    s.push_str(&format!("const NEEDLES: &[&str] = &{needles:?};\n\n"));
    if callee.is_async {
        s.push_str(BLOCK_ON);
        s.push('\n');
    }
    s.push_str(
        r#"fn at_location(file: &str, line: u32) -> bool {
    let file = file.replace('\\', "/");
    line == LINE && (file == FILE || file.ends_with(&format!("/{FILE}")) || FILE.ends_with(&format!("/{file}")))
}

// A panic raised inside the standard library (`str::split_at` is not
// `#[track_caller]`) has its location there: the incident's frame is then
// looked for in the panicking thread's stack.
fn in_std(file: &str) -> bool {
    let file = file.replace('\\', "/");
    file.starts_with("/rustc/") || ["library/core/src/", "library/std/src/", "library/alloc/src/"].iter().any(|p| file.contains(p))
}

fn frame_at_location() -> Option<(String, u32)> {
    let trace = std::backtrace::Backtrace::force_capture().to_string();
    trace.lines().filter_map(|l| l.trim().strip_prefix("at ")).find_map(|at| {
        let mut parts = at.rsplitn(3, ':');
        let (_col, line, file) = (parts.next()?, parts.next()?.parse::<u32>().ok()?, parts.next()?);
        at_location(file, line).then(|| (file.to_string(), line))
    })
}

fn payload(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

#[test]
fn search() {
    std::panic::set_hook(Box::new(|info| {
        let hit = info.location().map(|l| {
            let in_crate = if in_std(l.file()) { frame_at_location() } else { None };
            let (file, line) = match in_crate {
                Some(at) => at,
                None => (l.file().to_string(), l.line()),
            };
            (file, line, payload(info.payload()))
        });
        if let Ok(mut h) = HIT.lock() {
            *h = hit;
        }
    }));
    let started = std::time::Instant::now();
    // A run resumed after a round ended the process (an allocation that
    // failed, an abort): it starts at the next round, counting on.
    let resumed = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    let first_round = resumed(FROM_ROUND_ENV).unwrap_or(1).max(1);
    let budget_ms = resumed(BUDGET_ENV).map_or(BUDGET_MS, u128::from).min(BUDGET_MS);
    let cases = std::cell::Cell::new(resumed(CASES_ENV).unwrap_or(0));
    let unshrunk = resumed(UNSHRUNK_ENV);
"#,
    );
    s.push_str(&format!("    let unstepped = ({},);\n", unstepped.join(",\n        ")));
    if stepped {
        s.push_str(&format!("    let stepped = ({},);\n", strategies.join(",\n        ")));
    }
    s.push_str(
        r#"    let mut round = first_round - 1;
    while started.elapsed().as_millis() < budget_ms {
        // A seed per round, the same on every run: a search finds the same
        // input, shrunk the same way, each time it is run.
        round += 1;
        println!("{ROUND}{round}\t{}", cases.get());
        let shrinking = std::cell::Cell::new(false);
        let mut seed = [0u8; 32];
        seed[..8].copy_from_slice(&round.to_le_bytes());
        let config = Config {
            cases: 512,
            failure_persistence: None,
            max_shrink_time: 20_000,
            // A round whose shrinking ended the process is run again
            // without it: its first failing case, as found.
            max_shrink_iters: if unshrunk == Some(round) { 0 } else { 100_000 },
            max_global_rejects: 1_000_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
"#,
    );
    s.push_str(&if stepped {
        format!("        let strategy = if round % {STEPPED_EVERY} == 0 && std::env::var_os(STEPS_OFF_ENV).is_none() {{ &stepped }} else {{ &unstepped }};\n")
    } else {
        "        let strategy = &unstepped;\n".to_string()
    });
    s.push_str(&format!(
        "        let outcome = runner.run(strategy, |{mut_pat}: {tuple_ty}| {{\n"
    ));
    s.push_str(
        r#"            cases.set(cases.get() + 1);
            if let Ok(mut h) = HIT.lock() {
                *h = None;
            }
"#,
    );
    s.push_str(&format!(
        "            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {{ let _ = {}; }}));\n",
        callee.call(&passes)
    ));
    s.push_str(
        r#"            if r.is_err() {
                if let Some((f, l, m)) = HIT.lock().ok().and_then(|h| h.clone()) {
                    if at_location(&f, l) && (NEEDLES.is_empty() || NEEDLES.iter().any(|n| m.contains(n))) {
                        if !shrinking.replace(true) {
                            println!("{SHRINKING}{round}");
                        }
                        return Err(TestCaseError::fail(format!("{f}:{l}\t{m:?}")));
                    }
                }
            }
            Ok(())
        });
"#,
    );
    s.push_str(&format!(
        "        if let Err(TestError::Fail(why, {tuple_pat})) = outcome {{\n"
    ));
    s.push_str(&renders.join("\n"));
    s.push('\n');
    s.push_str(&format!(
        "            println!(\"{PANIC}{{}}\", why.message());\n            println!(\"{DONE}reproduced\\t{{}}\", cases.get());\n            return;\n        }}\n    }}\n    println!(\"{DONE}not-reproduced\\t{{}}\", cases.get());\n}}\n"
    ));
    s
}

/// Code of a `BoxedStrategy<Vec<u8>>` for a byte-sequence argument: the
/// crate's sample inputs (`seeds`) as they are, cut short (a truncated
/// header), with one byte changed, or one after another; then `generic`
/// (short sequences of boundary bytes) and anything up to 64 bytes.
fn bytes_strategy(seeds: &[Vec<u8>], generic: &str) -> String {
    let mut list = String::from("vec![], vec![0u8], vec![0xffu8; 8], ");
    for s in seeds {
        let _ = write!(list, "vec!{s:?}, ");
    }
    format!(
        "{{ let seeds: Vec<Vec<u8>> = vec![{list}]; \
         let pick = proptest::sample::select(seeds); \
         prop_oneof![\
         4 => pick.clone(), \
         3 => (pick.clone(), 0usize..1024).prop_map(|(s, n)| s[..n.min(s.len())].to_vec()), \
         3 => (pick.clone(), any::<u8>(), 0usize..1024).prop_map(|(mut s, b, n)| {{ if !s.is_empty() {{ let at = n % s.len(); s[at] = b; }} s }}), \
         1 => (pick.clone(), pick.clone()).prop_map(|(mut a, b)| {{ a.extend(b); a }}), \
         2 => {generic}, \
         1 => proptest::collection::vec(any::<u8>(), 0..64)].boxed() }}"
    )
}

/// What the harness printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// A case panicked at the location; its shrunk arguments as Rust
    /// expressions, and the panic (`file:line`, message).
    Reproduced {
        /// One Rust expression per argument.
        args: Vec<String>,
        /// `file:line` of the panic.
        at: String,
        /// The panic message.
        message: String,
        /// Cases tried.
        cases: u64,
    },
    /// The budget ran out first.
    NotReproduced {
        /// Cases tried.
        cases: u64,
    },
}

/// Reads the harness's output for a call taking `params`; `Err` when it did
/// not finish or printed an input that is not a plain literal (calls
/// allowed: the constructors `params` name, see [`Shape::calls`]).
pub(crate) fn parse_output(output: &str, params: &[Shape]) -> Result<Outcome, String> {
    let arity = params.len();
    let mut calls = Vec::new();
    for p in params {
        p.calls(&mut calls);
    }
    let mut args = Vec::new();
    let mut panic = None;
    // libtest's `test search ... ` may precede the first line.
    let after = |line: &str, marker: &str| line.find(marker).map(|i| line[i + marker.len()..].to_string());
    for line in output.lines() {
        if let Some(a) = after(line, ARG) {
            args.push(a);
        } else if let Some(p) = after(line, PANIC) {
            panic = Some(p);
        } else if let Some(d) = after(line, DONE) {
            let d = d.as_str();
            let (what, cases) = d.split_once('\t').unwrap_or((d, "0"));
            let cases = cases.trim().parse().unwrap_or(0);
            if what == "not-reproduced" {
                return Ok(Outcome::NotReproduced { cases });
            }
            let Some(p) = panic else {
                return Err("the harness reported a reproduction without its panic".into());
            };
            let (at, message) = p.split_once('\t').unwrap_or((p.as_str(), "\"\""));
            let message = syn::parse_str::<syn::LitStr>(message)
                .map(|l| l.value())
                .unwrap_or_else(|_| message.to_string());
            if args.len() != arity {
                return Err(format!(
                    "the harness printed {} argument(s), expected {arity}",
                    args.len()
                ));
            }
            if let Some(bad) = args
                .iter()
                .find(|a| a.len() > MAX_INPUT_LEN || !is_plain_literal(a, &calls))
            {
                let shown: String = bad.chars().take(80).collect();
                return Err(format!("the shrunk input is not a plain literal: {shown:?}"));
            }
            return Ok(Outcome::Reproduced {
                args,
                at: at.to_string(),
                message,
                cases,
            });
        }
    }
    Err("the harness did not finish (no result line)".into())
}

/// Where a search that ended without its result line stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Resume {
    /// The round that was running when the process ended (an allocation
    /// that failed, an abort, a stack overflow).
    pub(crate) round: u64,
    /// The cases run before it.
    pub(crate) cases: u64,
    /// It had found a failing case and ended while shrinking it: run it
    /// again without shrinking (else: go on from the next round).
    pub(crate) shrinking: bool,
}

/// Where a search that ended without its result line stopped; `None` when
/// it finished or never started a round.
pub(crate) fn resume_point(output: &str) -> Option<Resume> {
    if output.lines().any(|l| l.contains(DONE)) {
        return None;
    }
    let after = |l: &str, tag: &str| l.find(tag).map(|i| l[i + tag.len()..].trim().to_string());
    let mut found: Option<Resume> = None;
    for l in output.lines() {
        if let Some(rest) = after(l, ROUND) {
            let Some((round, cases)) = rest.split_once('\t') else {
                continue;
            };
            if let (Ok(round), Ok(cases)) = (round.parse(), cases.parse()) {
                found = Some(Resume {
                    round,
                    cases,
                    shrinking: false,
                });
            }
        } else if let Some(rest) = after(l, SHRINKING) {
            if let Some(r) = found.as_mut().filter(|r| rest.parse() == Ok(r.round)) {
                r.shrinking = true;
            }
        }
    }
    found
}

/// Whether `expr` is data only: literals, paths, `&`/`&mut`, unary minus,
/// ranges of literals, arrays, `vec![…]`, `Some(…)`/`String::from(…)`/`f64::from_bits(…)` calls
/// and struct literals — nothing that runs code of its own.
///
/// Calls of the paths `calls` are allowed too (written exactly so, each
/// argument plain): the constructors bugstack itself chose for the
/// argument's shape (`fixture::Doc::words`, `std::iter::Iterator::take`),
/// never one the crate's output names.
pub(crate) fn is_plain_literal(expr: &str, calls: &[String]) -> bool {
    let plain = |e: &syn::Expr| plain_expr(e, calls);
    syn::parse_str::<syn::Expr>(expr).is_ok_and(|e| plain(&e))
}

fn plain_expr(e: &syn::Expr, calls: &[String]) -> bool {
    let plain = |e: &syn::Expr| plain_expr(e, calls);
    match e {
        syn::Expr::Lit(_) | syn::Expr::Path(_) => true,
        syn::Expr::Reference(r) => plain(&r.expr),
        syn::Expr::Unary(u) => matches!(u.op, syn::UnOp::Neg(_)) && plain(&u.expr),
        syn::Expr::Array(a) => a.elems.iter().all(plain),
        syn::Expr::Tuple(t) => t.elems.iter().all(plain),
        syn::Expr::Paren(p) => plain(&p.expr),
        // `1..2`: a range of literals.
        syn::Expr::Range(r) => {
            r.start.as_deref().is_some_and(plain)
                && r.end.as_deref().is_some_and(plain)
                && matches!(r.limits, syn::RangeLimits::HalfOpen(_))
        }
        // `&[1, 2][..]`: a whole-range index.
        syn::Expr::Index(i) => {
            plain(&i.expr) && matches!(&*i.index, syn::Expr::Range(r) if r.start.is_none() && r.end.is_none())
        }
        // A type's zero-argument constructor (`x::Y::new()`, `x::Y::default()`,
        // `x::Y::<u8>::new()`).
        syn::Expr::Call(c)
            if c.args.is_empty()
                && matches!(&*c.func, syn::Expr::Path(p) if p.qself.is_none()
                    && p.path.segments.len() > 1
                    && p.path.segments.iter().all(|s| types_only(&s.arguments))
                    && p.path.segments.last().is_some_and(|l| l.ident == "new" || l.ident == "default")) =>
        {
            true
        }
        // `Some(…)`, `String::from(…)`, `f64::from_bits(…)`, and a tuple
        // variant's constructor (`x::Op::Insert(…)`, capitalised).
        // A constructor of the crate's type, unwrapped when fallible
        // (`fancy_regex::Regex::new("a").unwrap()`).
        syn::Expr::MethodCall(m) => {
            m.method == "unwrap" && m.args.is_empty() && m.turbofish.is_none() && plain(&m.receiver)
        }
        syn::Expr::Call(c) if listed(c, calls) => c.args.iter().all(plain),
        // A value changed by its type's methods (`Shape::Prepared`).
        syn::Expr::Block(b) if b.label.is_none() && b.attrs.is_empty() => prepared_block(&b.block.stmts, calls),
        syn::Expr::Call(c) => {
            let callee_ok = matches!(&*c.func, syn::Expr::Path(p) if p.qself.is_none() && {
                let path: Vec<String> = p.path.segments.iter().map(|s| s.ident.to_string()).collect();
                let crate_path = path.len() > 2
                    && p.path.segments.iter().all(|s| s.arguments.is_none())
                    && !matches!(path[0].as_str(), "std" | "core" | "alloc" | "crate" | "self" | "super");
                matches!(path.join("::").as_str(), "Some" | "String::from" | "f32::from_bits" | "f64::from_bits")
                    || crate_path && path.last().is_some_and(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
                    || crate_path && path.last().is_some_and(|l| l == "new" || l.starts_with("new_") || l.starts_with("from_") || l.starts_with("with_"))
            });
            callee_ok && c.args.iter().all(plain)
        }
        syn::Expr::Struct(s) => s.rest.is_none() && s.fields.iter().all(|f| plain(&f.expr)),
        syn::Expr::Macro(m) => vec_elements(&m.mac).is_some_and(|a| a.elems.iter().all(plain)),
        _ => false,
    }
}

/// Whether `c` calls one of the paths `calls`, written exactly so (white
/// space aside: `Map::<u8, u8>::new` is `Map::<u8,u8>::new`).
fn listed(c: &syn::ExprCall, calls: &[String]) -> bool {
    let Some(called) = (match &*c.func {
        syn::Expr::Path(p)
            if p.qself.is_none()
                && p.path.leading_colon.is_none()
                && p.path.segments.iter().all(|s| types_only(&s.arguments)) =>
        {
            Some(p.path.to_token_stream().to_string().replace(' ', ""))
        }
        _ => None,
    }) else {
        return false;
    };
    calls.iter().any(|c| c.replace(' ', "") == called)
}

/// `{ let mut value = <plain>; let _ = <listed>(&mut value, <plain>…); …
/// value }`: a value built, then changed by methods of its type bugstack
/// chose (`calls`), each taking the value first.
fn prepared_block(stmts: &[syn::Stmt], calls: &[String]) -> bool {
    let [syn::Stmt::Local(first), steps @ .., syn::Stmt::Expr(syn::Expr::Path(last), None)] = stmts else {
        return false;
    };
    fn init(l: &syn::Local) -> Option<&syn::Expr> {
        l.init.as_ref().filter(|i| i.diverge.is_none()).map(|i| &*i.expr)
    }
    let is_value = |e: &syn::Expr| matches!(e, syn::Expr::Path(p) if p.qself.is_none() && p.path.is_ident("value"));
    let built = matches!(&first.pat, syn::Pat::Ident(i) if i.ident == "value" && i.mutability.is_some() && i.by_ref.is_none() && i.subpat.is_none())
        && init(first).is_some_and(|e| plain_expr(e, calls));
    let changed = steps.iter().all(|s| match s {
        syn::Stmt::Local(l) if matches!(l.pat, syn::Pat::Wild(_)) => match init(l) {
            Some(syn::Expr::Call(c)) => {
                listed(c, calls)
                    && matches!(c.args.first(), Some(syn::Expr::Reference(r)) if r.mutability.is_some() && is_value(&r.expr))
                    && c.args.iter().skip(1).all(|a| plain_expr(a, calls))
            }
            _ => false,
        },
        _ => false,
    });
    built && changed && last.attrs.is_empty() && last.qself.is_none() && last.path.is_ident("value")
}

/// Whether a path segment's arguments are none, or types only (the
/// `::<u8>` of a generic type's constructor): no value, so no code.
fn types_only(args: &syn::PathArguments) -> bool {
    match args {
        syn::PathArguments::None => true,
        syn::PathArguments::AngleBracketed(a) => a.args.iter().all(|g| match g {
            syn::GenericArgument::Type(t) => no_code(t.to_token_stream()),
            _ => false,
        }),
        syn::PathArguments::Parenthesized(_) => false,
    }
}

/// Whether a type's tokens hold no code: no block (`[u8; { f() }]`) and
/// no call (`[u8; f()]`), at any depth.
fn no_code(ts: proc_macro2::TokenStream) -> bool {
    use proc_macro2::{Delimiter, TokenTree};
    let mut after_ident = false;
    ts.into_iter().all(|t| {
        let ok = match &t {
            TokenTree::Group(g) => match g.delimiter() {
                Delimiter::Brace => false,
                Delimiter::Parenthesis if after_ident => false,
                _ => no_code(g.stream()),
            },
            _ => true,
        };
        after_ident = matches!(t, TokenTree::Ident(_));
        ok
    })
}

/// The regression test: a plain `#[test]` calling `callee` with the shrunk
/// input on a thread, failing when the call panics or does not return
/// within [`CALL_TIMEOUT`].
/// `extern_crate`: the crate's name when its edition (2015) needs `extern
/// crate` to name it.
pub(crate) fn regression_source(
    callee: &Callee,
    args: &[String],
    name: &str,
    at: &Location,
    extern_crate: Option<&str>,
    placement: Placement<'_>,
    features: &[String],
) -> String {
    let shown_file: String = at
        .file
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
        .collect();
    let secs = CALL_TIMEOUT.as_secs();
    let mut call = callee.call(args);
    if let Placement::Module { unit: Some(lib) } = placement {
        call = crate_relative(&call, lib);
    }
    let extern_line = extern_crate.map_or_else(String::new, |c| format!("extern crate {c};\n\n"));
    // Built only with the features the call needs: the crate's own checks
    // without them skip it.
    let gate = match features {
        [] => None,
        [one] => Some(format!("feature = {one:?}")),
        many => Some(format!(
            "all({})",
            many.iter()
                .map(|f| format!("feature = {f:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    let file_gate = gate.as_ref().map_or_else(String::new, |g| format!("#![cfg({g})]\n\n"));
    let test = format!(
        "//! Added by bugstack: the input that reproduced the panic at {shown_file}:{line} (found by search).\n\
         //! Fails while the call panics, or when it does not return within {secs} s.\n\
         {file_gate}{extern_line}\
         #[test]\n\
         fn {name}() {{\n\
         \x20   let (done, finished) = std::sync::mpsc::channel();\n\
         \x20   std::thread::spawn(move || {{\n\
         \x20       let _ = {call};\n\
         \x20       let _ = done.send(());\n\
         \x20   }});\n\
         \x20   match finished.recv_timeout(std::time::Duration::from_secs({secs})) {{\n\
         \x20       Ok(()) => {{}}\n\
         \x20       Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(\"no return within {secs} s on the reproducing input\"),\n\
         \x20       Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => panic!(\"panicked on the reproducing input\"),\n\
         \x20   }}\n\
         }}\n{block_on}",
        line = at.line,
        block_on = if callee.is_async { BLOCK_ON } else { "" },
    );
    let unit = match placement {
        Placement::File => return test,
        Placement::Module { unit } => unit.is_some(),
    };
    let module_gate = gate.map_or_else(String::new, |g| format!("#[cfg({g})]\n"));
    let mut out = if unit {
        // `std` by name: the library may be `#![no_std]`.
        format!(
            "\n#[cfg(test)]\n{module_gate}#[allow(missing_docs, unused_extern_crates)]\nmod {name} {{\n    extern crate std;\n\n"
        )
    } else {
        format!("\n{module_gate}#[allow(missing_docs)]\nmod {name} {{\n")
    };
    // The module carries the gate, outside.
    let body = test.replacen(&file_gate, "", 1);
    for l in body.lines() {
        let l = l
            .strip_prefix("//!")
            .map_or_else(|| l.to_string(), |rest| format!("//{rest}"));
        if l.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("    {l}\n"));
        }
    }
    out.push_str("}\n");
    out
}

/// Where a regression test goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement<'a> {
    /// A new file of its own under `tests/`.
    File,
    /// At the end of an existing file, in a module of the test's name (so
    /// its `extern crate` and name clash with nothing there): a test target
    /// (`unit: None`), or the library's root file, as a `#[cfg(test)]` unit
    /// test whose paths name the crate (`unit: Some(lib_name)`) `crate`.
    Module {
        /// The library's name, for a unit test in the library.
        unit: Option<&'a str>,
    },
}

/// `code` with every path starting with the crate's name `lib` starting
/// with `crate` instead (literals untouched): the call as the library's own
/// unit test writes it.
fn crate_relative(code: &str, lib: &str) -> String {
    fn walk(ts: proc_macro2::TokenStream, lib: &str) -> proc_macro2::TokenStream {
        ts.into_iter()
            .map(|tt| match tt {
                proc_macro2::TokenTree::Ident(i) if i == lib => {
                    proc_macro2::TokenTree::Ident(proc_macro2::Ident::new("crate", i.span()))
                }
                proc_macro2::TokenTree::Group(g) => {
                    let mut out = proc_macro2::Group::new(g.delimiter(), walk(g.stream(), lib));
                    out.set_span(g.span());
                    proc_macro2::TokenTree::Group(out)
                }
                other => other,
            })
            .collect()
    }
    match code.parse::<proc_macro2::TokenStream>() {
        Ok(ts) => walk(ts, lib).to_string(),
        Err(_) => code.to_string(),
    }
}

/// A free name for the regression test file under the crate's `tests/`
/// (`bugstack_repro_<fn>_<line>.rs`), and the test's name; `root` is the
/// checkout, used to avoid existing files.
///
/// A crate that lists its test targets (`autotests = false`): the file is
/// its first test target's, the test goes at its end in a module of the
/// test's name, and the name is `module::test`.
pub(crate) fn regression_names(root: &Path, krate: &LibCrate, callee: &Callee, at: &Location) -> (String, String) {
    // The function's own name, its turbofish left out (`diff::<[u8], ..>`,
    // `collect::<Vec<_>>`).
    let plain = callee.path.split("::<").next().unwrap_or(&callee.path);
    let last = plain.rsplit("::").next().unwrap_or("call").to_ascii_lowercase();
    let last: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let base = format!("bugstack_repro_{last}_{}", at.line);
    // A new file under `tests/` is built only without `autotests = false`;
    // else the first listed test target's file, else the library's root.
    let listed = if krate.autotests {
        None
    } else {
        Some(krate.test_target.clone().unwrap_or_else(|| krate.root_file.clone()))
    };
    if let Some(target) = listed {
        let path = if krate.dir.is_empty() {
            target
        } else {
            format!("{}/{target}", krate.dir)
        };
        return (path, format!("{base}::{base}"));
    }
    let dir = if krate.dir.is_empty() {
        "tests".to_string()
    } else {
        format!("{}/tests", krate.dir)
    };
    let mut name = base.clone();
    let mut n = 2;
    while root.join(&dir).join(format!("{name}.rs")).exists() {
        name = format!("{base}_{n}");
        n += 1;
    }
    (format!("{dir}/{name}.rs"), name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn callee() -> Callee {
        Callee {
            path: "fixture::f".into(),
            args: vec![Shape::Str, Shape::Int("u8")],
            frame: 0,
            is_async: false,
        }
    }

    #[test]
    fn generated_sources_parse() {
        let at = Location {
            file: "src/lib.rs\"); evil(); (\"".into(),
            line: 3,
        };
        let src = search_source(&callee(), &at, &["x\"y"], &Seeds::default(), Duration::from_secs(5));
        let file = syn::parse_file(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        assert!(!src.contains("evil(); (\""), "event text must be escaped:\n{src}");
        assert_eq!(file.items.iter().filter(|i| matches!(i, syn::Item::Fn(_))).count(), 5);
        let in_fixture = |placement| {
            let args: [String; 2] = ["\"é\"".into(), "255".into()];
            regression_source(
                &callee(),
                &args,
                "bugstack_repro_f_3",
                &at,
                Some("fixture"),
                placement,
                &[],
            )
        };
        let test = in_fixture(Placement::File);
        syn::parse_file(&test).unwrap_or_else(|e| panic!("{e}\n{test}"));
        let appended = in_fixture(Placement::Module { unit: None });
        let unit = regression_source(
            &callee(),
            &["\"fixture::\"".into(), "255".into()],
            "bugstack_repro_f_3",
            &at,
            None,
            Placement::Module { unit: Some("fixture") },
            &[],
        );
        syn::parse_file(&unit).unwrap_or_else(|e| panic!("{e}\n{unit}"));
        assert!(
            unit.contains("#[cfg(test)]") && unit.contains("crate :: f (\"fixture::\" , 255)"),
            "{unit}"
        );
        let file = syn::parse_file(&appended).unwrap_or_else(|e| panic!("{e}\n{appended}"));
        assert!(
            matches!(&file.items[..], [syn::Item::Mod(m)] if m.ident == "bugstack_repro_f_3"),
            "{appended}"
        );
        assert!(
            test.contains("fixture::f(\"é\", 255)") && !test.contains("evil()"),
            "{test}"
        );
    }

    /// An `async fn`'s call is driven by `bugstack_block_on`, defined once in
    /// the harness and in the regression test (a module too, for a test
    /// appended to a file).
    #[test]
    fn an_async_callee_is_driven_by_the_block_on_function() {
        let at = Location {
            file: "src/lib.rs".into(),
            line: 3,
        };
        let callee = Callee {
            is_async: true,
            ..callee()
        };
        let src = search_source(&callee, &at, &[], &Seeds::default(), Duration::from_secs(5));
        let file = syn::parse_file(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        let fns = |items: &[syn::Item]| {
            items
                .iter()
                .filter(|i| matches!(i, syn::Item::Fn(f) if f.sig.ident == "bugstack_block_on"))
                .count()
        };
        assert_eq!(fns(&file.items), 1, "{src}");
        assert!(
            src.contains("let _ = bugstack_block_on(fixture::f(&a0, a1.clone()));"),
            "{src}"
        );
        let args: [String; 2] = ["\"\"".into(), "0".into()];
        for placement in [Placement::File, Placement::Module { unit: None }] {
            let test = regression_source(&callee, &args, "bugstack_repro_f_3", &at, None, placement, &[]);
            let file = syn::parse_file(&test).unwrap_or_else(|e| panic!("{e}\n{test}"));
            let items = match &file.items[..] {
                [syn::Item::Mod(m)] => m.content.as_ref().map(|(_, i)| i.clone()).unwrap_or_default(),
                items => items.to_vec(),
            };
            assert_eq!(fns(&items), 1, "{test}");
            assert!(
                test.contains("let _ = bugstack_block_on(fixture::f(\"\", 0));"),
                "{test}"
            );
        }
    }

    /// rust_decimal's `MathematicalOps` is behind its `maths` feature: rustc
    /// names the feature, the harness is built with it, and the regression
    /// test says it needs it (a gate the crate's default checks skip).
    #[test]
    fn features_gating_the_callee_are_read_from_rustc_and_gate_the_test() {
        let out = "error[E0405]: cannot find trait `MathematicalOps` in crate `rust_decimal`\n\
                   note: found an item that was configured out\n\
                   176 | #[cfg(feature = \"maths\")]\n    |       ----------------- the item is gated behind the `maths` feature\n\
                   note: the item is gated behind the `maths` feature\n\
                   = note: the item is gated behind the `db-x` feature\n\
                   the item is gated behind the `a\"; evil` feature\n";
        assert_eq!(gated_features(out), ["maths", "db-x"]);
        assert!(gated_features("error[E0425]: cannot find value `x`").is_empty());
        let at = Location {
            file: "src/lib.rs".into(),
            line: 3,
        };
        let args: [String; 2] = ["\"é\"".into(), "255".into()];
        let features = ["maths".to_string()];
        let test = regression_source(&callee(), &args, "t", &at, None, Placement::File, &features);
        syn::parse_file(&test).unwrap_or_else(|e| panic!("{e}\n{test}"));
        assert!(test.contains("#![cfg(feature = \"maths\")]"), "{test}");
        let two = ["maths".to_string(), "std".to_string()];
        let appended = regression_source(&callee(), &args, "t", &at, None, Placement::Module { unit: None }, &two);
        let file = syn::parse_file(&appended).unwrap_or_else(|e| panic!("{e}\n{appended}"));
        assert!(
            appended.contains("#[cfg(all(feature = \"maths\", feature = \"std\"))]\n#[allow(missing_docs)]\nmod t {"),
            "{appended}"
        );
        assert!(!appended.contains("#!["), "{appended}");
        assert_eq!(file.items.len(), 1);
        let manifest: toml::Value = manifest(
            &LibCrate {
                dir: String::new(),
                package: "rust_decimal".into(),
                lib_name: "rust_decimal".into(),
                root_file: "src/lib.rs".into(),
                edition_2015: false,
                test_target: None,
                autotests: true,
            },
            &features,
            &["serde"],
        )
        .parse()
        .unwrap();
        assert_eq!(
            manifest["dependencies"]["rust_decimal"]["features"],
            toml::Value::Array(vec![toml::Value::String("maths".into())])
        );
        // A crate a picked type names, at the version the lock file gives.
        assert_eq!(manifest["dependencies"]["serde"].as_str(), Some("*"));
    }

    #[test]
    fn seeds_come_from_code_and_doc_examples() {
        let s = Seeds::collect([
            "/// ```\n/// # let x = 7;\n/// f(\"from docs\");\n/// ```\npub fn f() { g(\"in code\", 300); }",
        ]);
        assert!(
            s.strings.contains(&"from docs".to_string()) && s.strings.contains(&"in code".to_string()),
            "{s:?}"
        );
        assert!(s.ints.contains(&300) && s.ints.contains(&7), "{s:?}");
    }

    #[test]
    fn byte_strings_and_byte_arrays_are_byte_seeds() {
        let s = Seeds::collect([
            "#[test] fn t() { parse(b\"\\x7fELF\"); parse(&[0x1f, 0x8b, 8]); parse(&vec![1, 2]); parse(&[300, 1]); f(&[7]); }",
        ]);
        assert_eq!(s.bytes, [b"\x7fELF".to_vec(), vec![0x1f, 0x8b, 8], vec![1, 2]], "{s:?}");
        assert!(
            s.ints.contains(&300) && s.ints.contains(&0x8b),
            "the elements are integer seeds too: {s:?}"
        );
        let callee = Callee {
            args: vec![Shape::Slice(Box::new(Shape::Int("u8")))],
            ..callee()
        };
        let at = Location {
            file: "src/lib.rs".into(),
            line: 3,
        };
        let src = search_source(&callee, &at, &[], &s, Duration::from_secs(5));
        syn::parse_file(&src).unwrap_or_else(|e| panic!("{e}\n{src}"));
        assert!(src.contains("vec![127, 69, 76, 70]"), "{src}");
    }

    #[test]
    fn the_codes_char_literals_are_one_char_seeds() {
        let s = Seeds::collect(["fn f(t: &str) -> bool { t.ends_with('\\\\') || t.starts_with('{') }"]);
        assert!(
            s.strings.contains(&"\\".to_string()) && s.strings.contains(&"{".to_string()),
            "{s:?}"
        );
    }

    #[test]
    fn the_functions_own_calls_give_its_preferred_arguments() {
        let s = Seeds::collect_for(
            ["/// ```\n/// assert_eq!(m::parse(\"+7\", 10), Some(7));\n/// ```\npub fn parse() {}\nfn t() { let x = 3u8.parse(&-2); other(5, 6); }"],
            "parse",
        );
        assert_eq!(s.args, vec![vec![3], vec![-2, 10]], "{s:?}");
        assert!(s.strings.contains(&"+7".to_string()), "inside assert_eq!: {s:?}");
    }

    /// Every one of `ok` is a plain literal with `calls` allowed, none of
    /// `bad` is.
    fn assert_plain(calls: &[String], ok: &[&str], bad: &[&str]) {
        for ok in ok {
            assert!(is_plain_literal(ok, calls), "{ok}");
        }
        for bad in bad {
            assert!(!is_plain_literal(bad, calls), "{bad}");
        }
    }

    /// A call bugstack chose for the shape is allowed with plain arguments,
    /// written exactly as chosen; any other is not.
    #[test]
    fn the_shapes_own_calls_are_allowed_and_only_they() {
        let calls = vec!["x::Doc::words".to_string(), "std::iter::Iterator::take".to_string()];
        let ok = "std::iter::Iterator::take(x::Doc::words(&x::Doc::new(\"\")), 1000)";
        assert!(!is_plain_literal(ok, &[]));
        let bad = [
            "std::iter::Iterator::take(x::Doc::words(&f()), 1000)",
            "::std::iter::Iterator::take(x::Doc::new(\"\"), 1)",
            "std::iter::Iterator::skip(x::Doc::new(\"\"), 1)",
            "x::Doc::words::<u8>(&x::Doc::new(\"\"))",
        ];
        assert_plain(&calls, &[ok], &bad);
        // A generic type's constructors, with the types written.
        let ok = [
            "x::Ring::<u8>::from_items(vec![0])",
            "x::Ring::<u8>::new()",
            "x::Ring::<Vec<(u8, [char; 4])>>::default()",
        ];
        let bad = [
            "x::Ring::<u16>::from_items(vec![0])",
            "x::Ring::<[u8; { std::process::abort() }]>::new()",
            "x::Ring::<[u8; f()]>::new()",
            "x::Ring::<u8>::from_items(f())",
        ];
        assert_plain(&["x::Ring::<u8>::from_items".to_string()], &ok, &bad);
        // Written with spaces (`quote_type`'s `, `), read without.
        let calls = ["x::Map::<u8, String>::from_pairs".to_string()];
        assert_plain(
            &calls,
            &["x::Map::<u8,String>::from_pairs(vec![])"],
            &["x::Map::<u8, u8>::from_pairs(vec![])"],
        );
    }

    /// A prepared value: built, changed only by calls of its type's
    /// methods bugstack chose, each taking the value first, then the
    /// value; nothing else runs.
    #[test]
    fn a_prepared_value_calls_only_the_chosen_steps_on_itself() {
        let calls = vec!["x::Slots::push".to_string(), "x::Slots::take".to_string()];
        let ok = "&mut { let mut value = x::Slots::new(); let _ = x::Slots::push(&mut value, 7); let _ = x::Slots::take(&mut value, 0); value }";
        assert!(!is_plain_literal(ok, &calls[..1]), "take is not a chosen step");
        let bad = [
            "{ let mut value = x::Slots::new(); let _ = x::Slots::push(&mut value, f()); value }",
            "{ let mut value = x::Slots::new(); let _ = x::Slots::push(&mut other, 7); value }",
            "{ let mut value = x::Slots::new(); let _ = x::Slots::push(&value, 7); value }",
            "{ let mut value = x::Slots::new(); let _ = x::Slots::push(7, &mut value); value }",
            "{ let mut value = x::Slots::new(); x::Slots::push(&mut value, 7); value }",
            "{ let mut value = f(); let _ = x::Slots::push(&mut value, 7); value }",
            "{ let mut value = x::Slots::new(); let _ = x::Slots::push(&mut value, 7); other }",
            "{ let mut value = x::Slots::new(); let _ = x::Slots::push(&mut value, 7); value.clear() }",
            "{ let mut other = x::Slots::new(); let _ = x::Slots::push(&mut other, 7); other }",
            "{ let value = x::Slots::new(); value }",
            "'a: { let mut value = x::Slots::new(); value }",
            "{ let mut value = x::Slots::new(); let _ = loop {}; value }",
        ];
        assert_plain(&calls, &[ok], &bad);
    }

    #[test]
    fn a_search_that_ended_the_process_resumes_where_it_stopped() {
        let ended = format!("{ROUND}1\t0\n{ROUND}2\t512\nmemory allocation of 1099511627776 bytes failed\n");
        let at = resume_point(&ended).unwrap();
        assert_eq!((at.round, at.cases, at.shrinking), (2, 512, false));
        let shrinking = format!("{ROUND}1\t0\n{SHRINKING}1\n");
        assert!(resume_point(&shrinking).unwrap().shrinking);
        // A shrinking line of an earlier round says nothing of the last.
        let later = format!("{ROUND}1\t0\n{SHRINKING}1\n{ROUND}2\t9\n");
        assert!(!resume_point(&later).unwrap().shrinking);
        assert_eq!(resume_point(&format!("{ROUND}1\t0\n{DONE}not-reproduced\t3\n")), None);
        assert_eq!(resume_point("error: could not compile"), None);
    }

    #[test]
    fn output_is_parsed_and_checked() {
        let out = "noise\ntest search ... BUGSTACK-REPRO-ARG\t\"é\"\nBUGSTACK-REPRO-ARG\t255\nBUGSTACK-REPRO-PANIC\tsrc/lib.rs:3\t\"byte index 1 is not a char boundary\"\nBUGSTACK-REPRO-DONE\treproduced\t41\n";
        assert_eq!(
            parse_output(out, &[Shape::Str, Shape::Int("u8")]),
            Ok(Outcome::Reproduced {
                args: vec!["\"é\"".into(), "255".into()],
                at: "src/lib.rs:3".into(),
                message: "byte index 1 is not a char boundary".into(),
                cases: 41
            })
        );
        assert_eq!(
            parse_output("BUGSTACK-REPRO-DONE\tnot-reproduced\t9000\n", &[Shape::Str]),
            Ok(Outcome::NotReproduced { cases: 9000 })
        );
        let evil = out.replace("255", "{ std::process::exit(0) }");
        assert!(parse_output(&evil, &[Shape::Str, Shape::Int("u8")]).is_err());
        assert!(parse_output("", &[Shape::Str]).is_err());
    }

    #[test]
    fn plain_literals_only() {
        let ok = [
            "\"a\"",
            "-5",
            "&[1, 2]",
            "vec![Some(1), None]",
            "shop::Cart { items: vec![] }",
            "f64::from_bits(0x0)",
            "5e-324f64",
            "-0.0f64",
            "f64::NEG_INFINITY",
            "0..4",
            "&[x::m::Op::Insert(1, 2), x::Op::Equal { at: 0 }, x::Op::Nothing]",
            "&fancy_regex::Regex::new(\"(a)\\\\2\").unwrap()",
            "x::Y::new(1)",
            "&mut x::Y { a: String::from(\"b\") }",
            "&mut &[1, 2][..]",
            "gimli::Abbreviations::default()",
            "x::Y::new()",
        ];
        let bad = [
            "f()",
            "evil::from(1)",
            "{ 1 }",
            "|| 1",
            "x.y()",
            "unsafe { 1 }",
            "format!(\"{}\", 1)",
            "S { ..s() }",
            "std::fs::File::create(\"x\")",
            "std::process::Command::new(\"sh\")",
            "x::Y::new(1).expect(\"\")",
            "x::Y::run(1)",
            "new()",
            "x::run()",
            "&[1, 2][f()..]",
            "x::m::Op::Insert(f())",
            "x::Op::<T>::Insert(1)",
        ];
        assert_plain(&[], &ok, &bad);
    }
}
