//! The Rust context builder against real git repositories made in temp dirs.

use crate::support;

use bugstack_fix::{ContextBuilder, Error, FixContext, RepoRef, RustContextBuilder, SnippetKind};
use support::rust_context::{frame, incident, line_of, std_frames, std_frames_then};
use support::Repo;

const WORKSPACE_TOML: &str = "[workspace]\nmembers = [\"crates/shop\", \"crates/tax\"]\nresolver = \"2\"\n";

const SHOP_TOML: &str = "[package]\nname = \"shop\"\nversion = \"1.2.0\"\nedition = \"2021\"\n\n\
[dependencies]\ntax = { path = \"../tax\" }\n";

const SHOP_LIB: &str = "pub mod cart;\nmod pricing;\n";

const CART_V1: &str = r#"use crate::pricing::{discount, Money, MAX_ITEMS};
use tax::rate;

/// A shopping cart.
pub struct Cart {
    items: Vec<Money>,
}

impl Cart {
    /// An empty cart.
    pub fn new() -> Self {
        Cart { items: Vec::new() }
    }

    fn first_price(&self) -> u64 {
        self.items.first().map(|m| m.0).unwrap_or(0)
    }

    /// The total after the discount `code` gives.
    pub fn total(&self, code: &str) -> Money {
        let n = self.items.len().min(MAX_ITEMS);
        let sum: u64 = self.items[..n].iter().map(|m| m.0).sum();
        let _first = self.first_price();
        let off = discount(code).unwrap(); // PANIC-V1
        Money(sum * rate("fr") / 100 - off.0)
    }
}

/// Checks a cart out.
pub fn checkout(cart: &Cart) -> u64 {
    cart.total("WELCOME").0 // CALLER
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_of_empty_cart() {
        assert_eq!(Cart::new().total("HALF").0, 0);
    }

    #[test]
    fn unrelated() {
        assert_eq!(1 + 1, 2);
    }
}
"#;

const PRICING: &str = r#"/// Most items a cart counts.
pub const MAX_ITEMS: usize = 100;

/// An amount in cents.
#[derive(Debug, Clone, Copy)]
pub struct Money(pub u64);

/// The discount a code gives, if it is known.
pub fn discount(code: &str) -> Option<Money> {
    match code {
        "HALF" => Some(Money(50)),
        _ => None,
    }
}

/// Not used by `total`.
pub fn unused_helper() -> u32 {
    7
}
"#;

const SHOP_IT: &str = r#"use shop::cart::{checkout, Cart};

#[test]
fn checkout_of_empty_cart() {
    assert_eq!(checkout(&Cart::new()), 0);
}

#[test]
fn total_with_code() {
    let cart = Cart::new();
    assert!(cart.total("HALF").0 == 0);
}
"#;

const TAX_TOML: &str = "[package]\nname = \"tax\"\nversion = \"0.1.0\"\nedition = \"2021\"\n";
const TAX_LIB: &str = "/// VAT rate of a country, in percent.\npub fn rate(country: &str) -> u64 {\n    \
if country == \"fr\" { 120 } else { 100 }\n}\n\n#[cfg(test)]\nmod tests;\n";
const TAX_TESTS: &str = "use super::rate;\n\n#[test]\nfn french_rate() {\n    assert_eq!(rate(\"fr\"), 120);\n}\n";

/// A two-crate workspace (shop depends on tax by path), one commit tagged `v1.2.0`.
fn workspace() -> (Repo, String) {
    let repo = Repo::new();
    repo.write("Cargo.toml", WORKSPACE_TOML);
    repo.write("crates/shop/Cargo.toml", SHOP_TOML);
    repo.write("crates/shop/src/lib.rs", SHOP_LIB);
    repo.write("crates/shop/src/cart.rs", CART_V1);
    repo.write("crates/shop/src/pricing.rs", PRICING);
    repo.write("crates/shop/tests/checkout.rs", SHOP_IT);
    repo.write("crates/tax/Cargo.toml", TAX_TOML);
    repo.write("crates/tax/src/lib.rs", TAX_LIB);
    repo.write("crates/tax/src/tests.rs", TAX_TESTS);
    let commit = repo.commit("shop 1.2.0");
    repo.git(&["tag", "v1.2.0"]);
    (repo, commit)
}

/// The panic in `Cart::total`, as the SDK reports it from a CI build
/// (absolute paths) with std, registry and foreign frames around it.
fn shop_incident(release: Option<&str>) -> bugstack_fix::Incident {
    let panic_line = line_of(CART_V1, "PANIC-V1");
    let caller_line = line_of(CART_V1, "// CALLER");
    let total = frame(
        "shop::cart::Cart::total",
        "/home/ci/build/crates/shop/src/cart.rs",
        panic_line,
        true,
    );
    let frames = std_frames_then([
        total.clone(),
        total,
        frame("shop::cart::checkout", "crates/shop/src/cart.rs", caller_line, true),
        frame(
            "serde_json::de::from_str",
            "/home/ci/.cargo/registry/src/index.crates.io-6f17d22bba15001f/serde_json-1.0.1/src/de.rs",
            2100,
            true,
        ),
        frame("server::main", "/home/ci/build/server/src/main.rs", 12, true),
    ]);
    incident(
        "called `Option::unwrap()` on a `None` value",
        Some(("crates/shop/src/cart.rs", panic_line)),
        frames,
        release,
    )
}

fn build(repo: &Repo, incident: &bugstack_fix::Incident) -> FixContext {
    RustContextBuilder::new()
        .build_blocking(incident, &RepoRef::new(repo.path()))
        .expect("context builds")
}

fn kinds(ctx: &FixContext) -> Vec<(SnippetKind, String)> {
    ctx.snippets
        .iter()
        .map(|s| (s.kind, s.item.clone().unwrap_or_default()))
        .collect()
}

/// The context's manifest snippet.
fn manifest_of(ctx: &FixContext) -> &bugstack_fix::Snippet {
    ctx.snippets
        .iter()
        .find(|s| s.kind == SnippetKind::Manifest)
        .expect("manifest")
}

fn snippet<'a>(ctx: &'a FixContext, kind: SnippetKind, item: &str) -> &'a bugstack_fix::Snippet {
    ctx.snippets
        .iter()
        .find(|s| s.kind == kind && s.item.as_deref() == Some(item))
        .unwrap_or_else(|| panic!("no {kind:?} snippet for {item}; have {:?}", kinds(ctx)))
}

#[test]
fn absolute_and_workspace_paths_map_registry_and_std_frames_do_not() {
    let (repo, commit) = workspace();
    let ctx = build(&repo, &shop_incident(Some("1.2.0")));
    assert_eq!(ctx.revision, commit);
    let frames: Vec<(Option<usize>, &str, u32)> = ctx
        .frames
        .iter()
        .map(|f| (f.frame_index, f.path.as_str(), f.line))
        .collect();
    let panic_line = line_of(CART_V1, "PANIC-V1");
    let caller_line = line_of(CART_V1, "// CALLER");
    // The panic location merges with the first frame at the same place; the
    // repeated frame is dropped; std, registry and foreign frames are not targets.
    assert_eq!(
        frames,
        vec![
            (Some(2), "crates/shop/src/cart.rs", panic_line),
            (Some(4), "crates/shop/src/cart.rs", caller_line)
        ]
    );
    assert_eq!(
        ctx.target().map(|f| f.function.as_deref()),
        Some(Some("shop::cart::Cart::total"))
    );
    assert!(ctx
        .snippets
        .iter()
        .all(|s| !s.path.contains(".cargo") && !s.path.contains("rustc")));
    assert_eq!(ctx.files.keys().collect::<Vec<_>>(), vec!["crates/shop/src/cart.rs"]);
    assert_eq!(ctx.file("crates/shop/src/cart.rs"), Some(CART_V1));
}

#[test]
fn path_dependency_frames_map_and_tests_in_a_tests_module_file_are_found() {
    let (repo, _) = workspace();
    // rustc records a path dependency's files through the dependent's directory.
    let frames = std_frames_then([frame(
        "tax::rate",
        "/home/ci/build/crates/shop/../tax/src/lib.rs",
        3,
        true,
    )]);
    let ctx = build(&repo, &incident("boom", None, frames, Some("1.2.0")));
    assert_eq!(ctx.frames[0].path, "crates/tax/src/lib.rs");
    assert_eq!(ctx.snippets[0].item.as_deref(), Some("rate"));
    let test = snippet(&ctx, SnippetKind::Test, "french_rate");
    assert_eq!(test.path, "crates/tax/src/tests.rs");
    let manifest = manifest_of(&ctx);
    assert_eq!(manifest.path, "crates/tax/Cargo.toml");
}

#[test]
fn failing_method_comes_with_its_impl_header_callees_types_and_constants() {
    let (repo, _) = workspace();
    let ctx = build(&repo, &shop_incident(Some("1.2.0")));
    let failing = &ctx.snippets[0];
    assert_eq!(failing.kind, SnippetKind::FailingFunction);
    assert_eq!(failing.item.as_deref(), Some("Cart::total"));
    assert!(
        failing.text.starts_with("impl Cart {\n    // ...\n"),
        "{}",
        failing.text
    );
    assert!(failing.text.contains("/// The total after the discount"));
    assert!(failing.text.contains("PANIC-V1") && failing.text.trim_end().ends_with('}'));
    assert!(!failing.text.contains("fn first_price"));
    assert_eq!(failing.start_line, line_of(CART_V1, "impl Cart {"));
    assert_eq!(failing.end_line, line_of(CART_V1, "PANIC-V1") + 2);

    let discount = snippet(&ctx, SnippetKind::Callee, "discount");
    assert_eq!(discount.path, "crates/shop/src/pricing.rs");
    assert!(discount.text.starts_with("/// The discount") && discount.text.contains("fn discount"));
    let method = snippet(&ctx, SnippetKind::Callee, "Cart::first_price");
    assert!(method.text.contains("fn first_price"));
    // Another crate of the repository, through `use tax::rate`.
    let rate = snippet(&ctx, SnippetKind::Callee, "rate");
    assert_eq!(rate.path, "crates/tax/src/lib.rs");
    let money = snippet(&ctx, SnippetKind::Type, "Money");
    assert_eq!(money.path, "crates/shop/src/pricing.rs");
    assert!(money
        .text
        .contains("#[derive(Debug, Clone, Copy)]\npub struct Money(pub u64);"));
    // The `Self` type of the method (`&self` is `&Self`).
    let cart = snippet(&ctx, SnippetKind::Type, "Cart");
    assert_eq!(cart.path, "crates/shop/src/cart.rs");
    assert!(cart.text.starts_with("/// A shopping cart.\npub struct Cart {"));
    let max = snippet(&ctx, SnippetKind::Constant, "MAX_ITEMS");
    assert_eq!(
        max.text,
        "/// Most items a cart counts.\npub const MAX_ITEMS: usize = 100;\n"
    );
    assert!(!ctx.snippets.iter().any(|s| s.item.as_deref() == Some("unused_helper")));

    let imports = ctx
        .snippets
        .iter()
        .find(|s| s.kind == SnippetKind::Imports)
        .expect("imports");
    assert_eq!(
        imports.text,
        "use crate::pricing::{discount, Money, MAX_ITEMS};\nuse tax::rate;\n"
    );
    let caller = snippet(&ctx, SnippetKind::Caller, "checkout");
    assert!(caller.text.contains("// CALLER"));
    let manifest = manifest_of(&ctx);
    assert_eq!(manifest.path, "crates/shop/Cargo.toml");
    assert_eq!(manifest.text, SHOP_TOML);
}

#[test]
fn unit_and_integration_tests_that_call_the_function_are_found() {
    let (repo, _) = workspace();
    let ctx = build(&repo, &shop_incident(Some("1.2.0")));
    let tests: Vec<(&str, &str)> = ctx
        .snippets
        .iter()
        .filter(|s| s.kind == SnippetKind::Test)
        .map(|s| (s.path.as_str(), s.item.as_deref().unwrap_or_default()))
        .collect();
    assert_eq!(
        tests,
        vec![
            ("crates/shop/src/cart.rs", "total_of_empty_cart"),
            ("crates/shop/tests/checkout.rs", "total_with_code")
        ]
    );
}

#[test]
fn snippets_are_ranked_failing_callers_callees_types_imports_tests_manifest() {
    let (repo, _) = workspace();
    let ctx = build(&repo, &shop_incident(Some("1.2.0")));
    let order: Vec<SnippetKind> = ctx.snippets.iter().map(|s| s.kind).collect();
    use SnippetKind::*;
    // The ranks, best first; kinds in one group rank alike.
    let groups: [&[SnippetKind]; 6] = [
        &[FailingFunction],
        &[Caller, Callee],
        &[Type, Constant],
        &[Imports],
        &[Test],
        &[Manifest],
    ];
    let rank = |k: SnippetKind| groups.iter().position(|g| g.contains(&k));
    assert!(order.windows(2).all(|w| rank(w[0]) <= rank(w[1])), "{order:?}");
    // The caller is one frame away, like the callees; callers come first at equal distance.
    assert_eq!(order[1], SnippetKind::Caller);
    for k in [
        SnippetKind::Callee,
        SnippetKind::Type,
        SnippetKind::Constant,
        SnippetKind::Imports,
        SnippetKind::Test,
        SnippetKind::Manifest,
    ] {
        assert!(order.contains(&k), "{k:?} missing from {order:?}");
    }
    assert!(ctx.tokens_used <= ctx.token_budget);
    assert_eq!(ctx.token_budget, bugstack_fix::RustContextBuilder::DEFAULT_TOKEN_BUDGET);
    assert_eq!(
        ctx.tokens_used,
        ctx.snippets
            .iter()
            .map(|s| bugstack_fix::estimate_tokens(&s.text))
            .sum::<usize>()
    );
}

#[test]
fn budget_cuts_low_ranked_snippets_and_windows_an_oversized_function() {
    let (repo, _) = workspace();
    let inc = shop_incident(Some("1.2.0"));
    let full = build(&repo, &inc);
    let failing_tokens = bugstack_fix::estimate_tokens(&full.snippets[0].text);
    let budget = failing_tokens + 60;
    let cut = RustContextBuilder::new()
        .with_token_budget(budget)
        .build_blocking(&inc, &RepoRef::new(repo.path()))
        .expect("builds");
    assert!(cut.tokens_used <= budget, "{} > {budget}", cut.tokens_used);
    assert_eq!(cut.token_budget, budget);
    assert!(cut.snippets.len() < full.snippets.len());
    assert_eq!(cut.snippets[0], full.snippets[0]);
    assert!(!cut.snippets.iter().any(|s| s.kind == SnippetKind::Test));
    assert!(
        cut.warnings.iter().any(|w| w.contains("left out")),
        "{:?}",
        cut.warnings
    );

    // A budget smaller than the failing function keeps the lines around the target.
    let tiny = RustContextBuilder::new()
        .with_token_budget(40)
        .build_blocking(&inc, &RepoRef::new(repo.path()))
        .expect("builds");
    let first = &tiny.snippets[0];
    assert_eq!(first.kind, SnippetKind::FailingFunction);
    assert!(first.text.contains("PANIC-V1"), "{}", first.text);
    assert!(tiny.tokens_used <= 40);
    let panic_line = line_of(CART_V1, "PANIC-V1");
    assert!(first.start_line <= panic_line && panic_line <= first.end_line);
    // Only lines of the function itself, not of the impl around it.
    assert!(
        first.start_line >= line_of(CART_V1, "/// The total after"),
        "{}",
        first.start_line
    );
    let expected: String = CART_V1
        .split_inclusive('\n')
        .skip(first.start_line as usize - 1)
        .take((first.end_line - first.start_line + 1) as usize)
        .collect();
    assert_eq!(first.text, expected);
    assert!(tiny.warnings.iter().any(|w| w.contains("does not fit")));
}

#[test]
fn reads_the_release_not_the_moved_on_or_dirty_work_tree() {
    let (repo, v1) = workspace();
    let v2_text = CART_V1.replace(
        "let off = discount(code).unwrap(); // PANIC-V1",
        "let off = discount(code).unwrap_or(Money(0)); // FIXED-V2",
    );
    repo.write("crates/shop/src/cart.rs", &v2_text);
    let v2 = repo.commit("fix total");
    repo.git(&["tag", "shop-v1.3.0"]);
    // Uncommitted edit on top: must never be read.
    repo.write("crates/shop/src/cart.rs", "this is not rust {{{");

    let ctx = build(&repo, &shop_incident(Some("1.2.0")));
    assert_eq!(ctx.revision, v1);
    assert!(ctx.warnings.is_empty(), "{:?}", ctx.warnings);
    assert!(ctx.snippets[0].text.contains("PANIC-V1"));
    assert_eq!(ctx.file("crates/shop/src/cart.rs"), Some(CART_V1));

    // `<crate>-v<release>` tags resolve too.
    let ctx = build(&repo, &shop_incident(Some("1.3.0")));
    assert_eq!(ctx.revision, v2);
    assert!(ctx.snippets[0].text.contains("FIXED-V2"));

    // So does a `package@version` release (as Sentry-style SDKs send it).
    let ctx = build(&repo, &shop_incident(Some("shop@1.3.0")));
    assert_eq!(ctx.revision, v2);

    // A commit id prefix works as a release.
    let ctx = build(&repo, &shop_incident(Some(&v1[..10])));
    assert_eq!(ctx.revision, v1);

    // An explicit revision wins over the release.
    let ctx = RustContextBuilder::new()
        .build_blocking(
            &shop_incident(Some("1.2.0")),
            &RepoRef::new(repo.path()).at("shop-v1.3.0"),
        )
        .expect("builds");
    assert_eq!(ctx.revision, v2);
}

#[test]
fn unknown_or_missing_release_falls_back_to_head_with_a_warning() {
    let (repo, _) = workspace();
    repo.write("crates/shop/README.md", "moved on\n");
    let head = repo.commit("docs");
    let ctx = build(&repo, &shop_incident(Some("9.9.9")));
    assert_eq!(ctx.revision, head);
    assert!(
        ctx.warnings
            .iter()
            .any(|w| w.contains("\"9.9.9\"") && w.contains("HEAD")),
        "{:?}",
        ctx.warnings
    );
    let ctx = build(&repo, &shop_incident(None));
    assert_eq!(ctx.revision, head);
    assert!(
        ctx.warnings.iter().any(|w| w.contains("no release")),
        "{:?}",
        ctx.warnings
    );
    // Revision syntax and option injection in the (untrusted) release are not passed to git.
    let ctx = build(&repo, &shop_incident(Some("--output=/tmp/x")));
    assert_eq!(ctx.revision, head);
    assert_eq!(ctx.warnings.len(), 1);
}

#[test]
fn clear_errors_for_unknown_revision_non_repository_and_unmapped_frames() {
    let (repo, _) = workspace();
    let err = RustContextBuilder::new()
        .build_blocking(&shop_incident(None), &RepoRef::new(repo.path()).at("v7.7.7"))
        .expect_err("unknown revision");
    assert!(
        matches!(&err, Error::Repo(m) if m.contains("v7.7.7") && m.contains("unknown")),
        "{err}"
    );

    let err = RustContextBuilder::new()
        .build_blocking(&shop_incident(None), &RepoRef::new(repo.path()).at("HEAD~1..HEAD"))
        .expect_err("revision range");
    assert!(matches!(err, Error::Repo(_)), "{err}");

    let plain = tempfile::tempdir().expect("tempdir");
    let err = RustContextBuilder::new()
        .build_blocking(&shop_incident(None), &RepoRef::new(plain.path()))
        .expect_err("not a repository");
    assert!(
        matches!(&err, Error::Repo(m) if m.contains("not a git repository")),
        "{err}"
    );
    let err = RustContextBuilder::new()
        .build_blocking(&shop_incident(None), &RepoRef::new(plain.path().join("missing")))
        .expect_err("no such directory");
    assert!(matches!(&err, Error::Repo(m) if m.contains("not a directory")), "{err}");

    let empty = Repo::new();
    let err = RustContextBuilder::new()
        .build_blocking(&shop_incident(None), &RepoRef::new(empty.path()))
        .expect_err("no commits");
    assert!(matches!(&err, Error::Repo(m) if m.contains("no commit")), "{err}");

    let frames = std_frames_then([frame("other::run", "/home/ci/build/other/src/run.rs", 3, true)]);
    let foreign = incident("boom", Some(("/home/ci/build/other/src/run.rs", 3)), frames, None);
    let err = RustContextBuilder::new()
        .build_blocking(&foreign, &RepoRef::new(repo.path()))
        .expect_err("nothing maps");
    assert!(
        matches!(&err, Error::Context(m) if m.contains("maps to a file")),
        "{err}"
    );
}

#[test]
fn a_root_inside_the_work_tree_reads_the_whole_repository() {
    let (repo, commit) = workspace();
    let sub = repo.path().join("crates/shop");
    let ctx = RustContextBuilder::new()
        .build_blocking(&shop_incident(Some("1.2.0")), &RepoRef::new(&sub))
        .expect("builds");
    assert_eq!(ctx.revision, commit);
    assert_eq!(ctx.repo_root.canonicalize().ok(), repo.path().canonicalize().ok());
    assert_eq!(ctx.frames[0].path, "crates/shop/src/cart.rs");
    // Without the subdirectory case the root is kept as given.
    let ctx = build(&repo, &shop_incident(Some("1.2.0")));
    assert_eq!(ctx.repo_root, repo.path());
}

const SINGLE_LIB: &str = "pub mod orders;\n";

const ORDERS: &str = r#"pub mod inner {
    use super::Order;

    pub struct Book;

    impl Book {
        pub fn apply(orders: &[Order]) -> Vec<u32> {
            orders
                .iter()
                .map(|o| {
                    let q = o.qty;
                    100 / q // CLOSURE
                })
                .collect()
        }
    }
}

pub struct Order {
    pub qty: u32,
}
"#;

#[tokio::test]
async fn closure_in_a_method_of_a_nested_module_maps_to_the_method_via_the_async_api() {
    let repo = Repo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"orders\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write("src/lib.rs", SINGLE_LIB);
    repo.write("src/orders.rs", ORDERS);
    repo.commit("orders");
    let line = line_of(ORDERS, "// CLOSURE");
    let closure = "orders::orders::inner::Book::apply::{{closure}}";
    // in_app is wrong here on purpose: the path decides.
    let frames = std_frames_then([frame(closure, "/srv/build/orders/src/orders.rs", line, false)]);
    let inc = incident("attempt to divide by zero", None, frames, None);
    let ctx = RustContextBuilder::new()
        .build(&inc, &RepoRef::new(repo.path()))
        .await
        .expect("builds");
    assert_eq!(ctx.frames[0].path, "src/orders.rs");
    let failing = &ctx.snippets[0];
    assert_eq!(failing.item.as_deref(), Some("Book::apply"));
    assert!(
        failing.text.starts_with("    impl Book {\n        pub fn apply"),
        "{}",
        failing.text
    );
    // `Order` resolves through `use super::Order` to the parent module.
    let order = snippet(&ctx, SnippetKind::Type, "Order");
    assert_eq!(order.start_line, line_of(ORDERS, "pub struct Order"));
}

#[test]
fn a_file_that_does_not_parse_degrades_to_a_line_window_with_a_warning() {
    let repo = Repo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"broken\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    let mut text = String::from("pub fn fine() -> u32 {\n    1\n}\n\npub fn broken( {\n");
    for i in 0..60 {
        text.push_str(&format!("    let x{i} = {i};\n"));
    }
    text.push_str("}\n");
    repo.write("src/lib.rs", &text);
    repo.commit("broken");
    let frames = vec![frame("broken::broken", "src/lib.rs", 30, true)];
    let ctx = build(&repo, &incident("boom", None, frames, None));
    let first = &ctx.snippets[0];
    assert_eq!(first.kind, SnippetKind::FailingFunction);
    assert_eq!((first.start_line, first.end_line), (10, 50));
    assert!(first.text.starts_with("    let x4 = 4;\n"), "{}", first.text);
    assert!(
        ctx.warnings.iter().any(|w| w.contains("src/lib.rs does not parse")),
        "{:?}",
        ctx.warnings
    );
    assert_eq!(ctx.file("src/lib.rs"), Some(text.as_str()));
}

const AREA: &str = r#"use super::*;
use super::kinds::SIDES as S;
use crate::util::clamp;

pub struct Area;

impl Area {
    pub fn of(kind: Kind, side: f64) -> f64 {
        let n = S[kind as usize]; // TARGET
        let a = clamp(side) * side / n as f64;
        match kind {
            Kind::Square => a,
            Kind::Circle => Self::pi() * a,
        }
    }

    fn pi() -> f64 {
        3.14
    }
}
"#;

#[test]
fn resolution_follows_mod_rs_path_attributes_globs_re_exports_and_renames() {
    let repo = Repo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"geo\"\nversion = \"0.1.0\"\nedition = \"2018\"\n",
    );
    repo.write(
        "src/lib.rs",
        "pub mod shapes;\n#[path = \"util_impl.rs\"]\nmod util;\npub use shapes::area::Area;\n",
    );
    repo.write("src/util_impl.rs", "pub fn clamp(x: f64) -> f64 {\n    x.max(0.0)\n}\n");
    repo.write(
        "src/shapes/mod.rs",
        "pub mod area;\npub mod kinds;\npub use self::kinds::Kind;\n",
    );
    repo.write(
        "src/shapes/kinds.rs",
        "#[derive(Clone, Copy)]\npub enum Kind {\n    Square,\n    Circle,\n}\n\npub const SIDES: [u32; 2] = [4, 0];\n",
    );
    repo.write("src/shapes/area.rs", AREA);
    repo.commit("geo");
    let frames = vec![frame(
        "geo::shapes::area::Area::of",
        "/build/geo/src/shapes/area.rs",
        line_of(AREA, "// TARGET"),
        true,
    )];
    let ctx = build(&repo, &incident("attempt to divide by zero", None, frames, None));
    assert_eq!(ctx.snippets[0].item.as_deref(), Some("Area::of"));
    // `Kind` through the glob `use super::*` and the `pub use` in shapes/mod.rs.
    assert_eq!(snippet(&ctx, SnippetKind::Type, "Kind").path, "src/shapes/kinds.rs");
    // `S` is `SIDES` renamed.
    assert_eq!(
        snippet(&ctx, SnippetKind::Constant, "SIDES").text,
        "pub const SIDES: [u32; 2] = [4, 0];\n"
    );
    // `mod util;` with `#[path = "util_impl.rs"]`.
    assert_eq!(snippet(&ctx, SnippetKind::Callee, "clamp").path, "src/util_impl.rs");
    // `Self::pi()`.
    assert!(snippet(&ctx, SnippetKind::Callee, "Area::pi").text.contains("3.14"));
    let imports = ctx
        .snippets
        .iter()
        .find(|s| s.kind == SnippetKind::Imports)
        .expect("imports");
    assert_eq!((imports.start_line, imports.end_line), (1, 3));
}

#[test]
fn large_generated_files_are_not_parsed_for_resolution_but_frames_into_them_work() {
    let repo = Repo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"tables\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write(
        "src/lib.rs",
        "mod table;\nmod small;\n\npub fn lookup(i: usize) -> u32 {\n    table::TABLE[i] + small::OFFSET\n}\n",
    );
    repo.write("src/small.rs", "pub const OFFSET: u32 = 1;\n");
    let mut table = String::from("pub static TABLE: [u32; 17000] = [\n");
    for i in 0..17_000 {
        table.push_str(&format!("    0x{i:04x}_0000,\n"));
    }
    table.push_str("];\n\npub fn entry(i: usize) -> u32 {\n    TABLE[i]\n}\n");
    assert!(table.len() > 256 * 1024);
    repo.write("src/table.rs", &table);
    repo.commit("tables");

    let frames = vec![frame("tables::lookup", "src/lib.rs", 5, true)];
    let ctx = build(&repo, &incident("index out of bounds", None, frames, None));
    assert_eq!(snippet(&ctx, SnippetKind::Constant, "OFFSET").path, "src/small.rs");
    assert!(
        !ctx.snippets.iter().any(|s| s.path == "src/table.rs"),
        "{:?}",
        kinds(&ctx)
    );

    let line = line_of(&table, "    TABLE[i]");
    let frames = vec![frame("tables::table::entry", "src/table.rs", line, true)];
    let ctx = build(&repo, &incident("index out of bounds", None, frames, None));
    assert_eq!(ctx.snippets[0].item.as_deref(), Some("entry"));
}

#[test]
fn an_ambiguous_relative_location_follows_the_frame_that_mapped() {
    let repo = Repo::new();
    for (dir, name) in [("svc-a", "orders"), ("svc-b", "payments")] {
        repo.write(
            &format!("{dir}/Cargo.toml"),
            &format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"),
        );
        repo.write(
            &format!("{dir}/src/lib.rs"),
            &format!("pub fn {name}(v: &[u32]) -> u32 {{\n    v[3] // {name}\n}}\n"),
        );
    }
    repo.commit("two services");
    let frames = std_frames_then([frame("payments::payments", "/ci/checkout/svc-b/src/lib.rs", 2, true)]);
    let ctx = build(
        &repo,
        &incident("index out of bounds", Some(("src/lib.rs", 2)), frames, None),
    );
    assert_eq!(ctx.frames.len(), 1, "{:?}", ctx.frames);
    assert_eq!(ctx.frames[0].path, "svc-b/src/lib.rs");
    assert_eq!(ctx.frames[0].frame_index, Some(2));
    assert_eq!(ctx.snippets[0].item.as_deref(), Some("payments"));
}

/// Code expanded from a `macro_rules!` call often has no file of its own in
/// the stack: the location names the file and line (the macro's call), and
/// the innermost frame without a file names the function.
#[test]
fn a_location_without_a_mapped_frame_takes_the_function_of_a_fileless_frame() {
    let repo = Repo::new();
    repo.write(
        "Cargo.toml",
        "[package]\nname = \"ints\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    repo.write(
        "src/lib.rs",
        "pub trait Multiple {\n    fn is_multiple_of(&self, d: &Self) -> bool;\n}\n\nmacro_rules! imp {\n    ($T:ty) => {\n        impl Multiple for $T {\n            fn is_multiple_of(&self, d: &Self) -> bool {\n                *self % *d == 0\n            }\n        }\n    };\n}\n\nimp!(u32);\n",
    );
    repo.commit("macro");
    let mut frames = std_frames();
    frames.insert(
        0,
        bugstack_core::Frame {
            function: Some("<u32 as ints::Multiple>::is_multiple_of".into()),
            ..bugstack_core::Frame::default()
        },
    );
    let ctx = build(
        &repo,
        &incident(
            "attempt to calculate the remainder with a divisor of zero",
            Some(("src/lib.rs", 15)),
            frames,
            None,
        ),
    );
    assert_eq!(ctx.frames[0].line, 15);
    assert_eq!(
        ctx.frames[0].function.as_deref(),
        Some("<u32 as ints::Multiple>::is_multiple_of")
    );
}
