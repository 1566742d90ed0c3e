//! Fingerprints: a stable hash that groups occurrences of "the same bug".
//!
//! The default parts are:
//! 1. the event kind (`panic`, `error`, ...) and, for errors, the outermost
//!    error type;
//! 2. the message with volatile parts normalized ([`normalize_message`]):
//!    UUIDs, paths under temp dirs, quoted values, hex ids and numbers;
//! 3. the in-app frames' function paths (which include the module), innermost
//!    first, with hash suffixes and closure indices removed and direct recursion
//!    collapsed. **Line numbers are never used**, so an unrelated edit that moves
//!    code does not split a group. Without in-app frames, the file name of the
//!    panic location stands in.
//!
//! [`Event::fingerprint_parts`] overrides the default (as Sentry's
//! `fingerprint` does); a part equal to `{{ default }}` expands to the default
//! parts, so `["{{ default }}", "tenant-42"]` splits a group by tenant.

use crate::fingerprint::{DEFAULT_PLACEHOLDER, MAX_FINGERPRINT_FRAMES};
use crate::{Event, Fingerprint};
use once_cell::sync::Lazy;
use regex::{Captures, Regex};

/// Function-path prefixes that are never the application, even when an SDK
/// marks them in-app (panic machinery, the SDK itself).
const RUNTIME_PREFIXES: &[&str] = &[
    "std::",
    "core::",
    "alloc::",
    "backtrace::",
    "bugstack_sdk::",
    "rust_begin_unwind",
    "__rust",
    "_start",
    "__libc",
];

macro_rules! regex {
    ($name:ident, $re:expr) => {
        static $name: Lazy<Regex> = Lazy::new(|| Regex::new($re).expect("static regex compiles"));
    };
}

regex!(
    UUID,
    r"(?i)\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
);
regex!(
    TEMP_PATH,
    r#"(?i)(?:/private/var/folders|/var/folders|/var/tmp|/tmp|/dev/shm|[a-z]:\\users\\[^\\\s]+\\appdata\\local\\temp)[/\\][^\s'"`,;:)\]]*"#
);
regex!(DOUBLE_QUOTED, r#""(?:[^"\\\n]|\\.)*""#);
regex!(SINGLE_QUOTED, r"(^|[^\w])'[^'\n]*'");
regex!(HEX_PREFIXED, r"\b0x[0-9a-fA-F]+\b");
regex!(HEX_LONG, r"\b[0-9a-fA-F]{8,}\b");
regex!(NUMBER, r"\b\d+(?:\.\d+)?\b");
regex!(FN_HASH, r"::h[0-9a-f]{16}$");
regex!(CLOSURE_INDEX, r"\{closure#\d+\}");

/// The message with its volatile parts replaced by placeholders: UUIDs →
/// `<uuid>`, paths under temp dirs → `<tmp>`, quoted values → `"<str>"` /
/// `'<str>'`, hex ids → `<hex>`, numbers → `<n>`. Backticked text is kept:
/// in Rust panic messages it is code (`` `Option::unwrap()` ``), not data.
///
/// ```
/// use bugstack_core::normalize_message;
/// assert_eq!(
///     normalize_message("index out of bounds: the len is 3 but the index is 7"),
///     "index out of bounds: the len is <n> but the index is <n>",
/// );
/// ```
pub fn normalize_message(msg: &str) -> String {
    let s = UUID.replace_all(msg, "<uuid>");
    let s = TEMP_PATH.replace_all(&s, "<tmp>");
    // Ids and numbers before quoted values: a replacement like `<n>` can
    // make a following quote an opening one, and that must be settled in
    // this pass for normalization to be idempotent.
    let s = HEX_PREFIXED.replace_all(&s, "<hex>");
    let s = HEX_LONG.replace_all(&s, |c: &Captures<'_>| {
        if c[0].bytes().any(|b| b.is_ascii_digit()) {
            "<hex>".to_string()
        } else {
            c[0].to_string()
        }
    });
    let s = NUMBER.replace_all(&s, "<n>");
    let s = DOUBLE_QUOTED.replace_all(&s, "\"<str>\"");
    let s = SINGLE_QUOTED.replace_all(&s, "$1'<str>'");
    s.trim().to_string()
}

/// A function path as it goes into a fingerprint: hash suffix and closure
/// indices removed (they change with unrelated edits).
pub(crate) fn normalize_function(function: &str) -> String {
    let f = FN_HASH.replace(function.trim(), "");
    CLOSURE_INDEX.replace_all(&f, "{closure}").into_owned()
}

fn is_runtime_function(f: &str) -> bool {
    RUNTIME_PREFIXES.iter().any(|p| f.starts_with(p))
        || f.starts_with("<std::")
        || f.starts_with("<core::")
        || f.starts_with("<alloc::")
}

/// The default fingerprint parts of an event (see the module docs).
pub(crate) fn default_parts(event: &Event) -> Vec<String> {
    let mut parts = vec![format!("kind:{}", event.kind.as_str())];
    if let Some(t) = event.error_type() {
        parts.push(format!("type:{t}"));
    }
    parts.push(format!("message:{}", normalize_message(&event.message)));
    let mut last: Option<String> = None;
    let mut frames = 0;
    for frame in event.in_app_frames() {
        let Some(function) = frame.function.as_deref() else {
            continue;
        };
        let f = normalize_function(function);
        if is_runtime_function(&f) || last.as_deref() == Some(f.as_str()) {
            continue;
        }
        parts.push(format!("frame:{f}"));
        last = Some(f);
        frames += 1;
        if frames == MAX_FINGERPRINT_FRAMES {
            break;
        }
    }
    if frames == 0 {
        if let Some(loc) = &event.location {
            let file = loc.file.replace('\\', "/");
            let tail: Vec<&str> = file.rsplit('/').take(2).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            parts.push(format!("file:{}", tail.join("/")));
        }
    }
    parts
}

/// The parts that actually go into the hash: the override with
/// [`DEFAULT_PLACEHOLDER`] expanded, or the default parts.
pub(crate) fn parts(event: &Event) -> Vec<String> {
    if event.fingerprint_parts.is_empty() {
        return default_parts(event);
    }
    let mut out = vec!["override".to_string()];
    for p in &event.fingerprint_parts {
        if p.replace(' ', "") == DEFAULT_PLACEHOLDER.replace(' ', "") {
            out.extend(default_parts(event));
        } else {
            out.push(format!("custom:{p}"));
        }
    }
    out
}

/// The fingerprint of an event (ignores any stored [`Event::fingerprint`]).
pub fn fingerprint(event: &Event) -> Fingerprint {
    Fingerprint::from_parts(parts(event))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChainLink, EventKind, Frame, Level, Location, Timestamp};

    fn frame(f: &str, line: u32) -> Frame {
        Frame {
            function: Some(f.to_string()),
            module: f.rsplit_once("::").map(|(m, _)| m.to_string()),
            file: Some("src/cart.rs".into()),
            line: Some(line),
            column: Some(9),
            in_app: true,
            address: None,
        }
    }

    fn panic_event(msg: &str, frames: Vec<Frame>) -> Event {
        let mut e = Event::new(EventKind::Panic, Level::Fatal, msg, Timestamp::from_millis(1));
        e.frames = frames;
        e
    }

    fn std_frame(f: &str) -> Frame {
        Frame {
            in_app: false,
            ..frame(f, 1)
        }
    }

    #[test]
    fn normalizes_volatile_message_parts() {
        let cases = [
            (
                "user 550e8400-e29b-41d4-a716-446655440000 not found",
                "user <uuid> not found",
            ),
            (
                "cannot open /tmp/.tmpA1b2C3/data.db: denied",
                "cannot open <tmp>: denied",
            ),
            (r#"invalid sku "AB-123" in cart"#, r#"invalid sku "<str>" in cart"#),
            ("can't parse 'x1' as int", "can't parse '<str>' as int"),
            ("object 0x7ffd5e8c not mapped", "object <hex> not mapped"),
            ("commit 3f2a9c81b7 missing", "commit <hex> missing"),
            ("took 12.5 ms for 300 rows", "took <n> ms for <n> rows"),
            (
                "called `Option::unwrap()` on a `None` value",
                "called `Option::unwrap()` on a `None` value",
            ),
            ("overflow in u32 add", "overflow in u32 add"),
            ("deadbeefcafe is a word", "deadbeefcafe is a word"),
            ("7'' then 𑛐''", "<n>'<str>' then <n>'<str>'"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_message(input), want, "input: {input}");
        }
    }

    #[test]
    fn normalizes_function_names() {
        assert_eq!(
            normalize_function("shop::cart::total::h0123456789abcdef"),
            "shop::cart::total"
        );
        assert_eq!(normalize_function("shop::main::{closure#3}"), "shop::main::{closure}");
        assert_eq!(normalize_function("shop::main::{{closure}}"), "shop::main::{{closure}}");
    }

    #[test]
    fn same_bug_merges_across_line_moves_and_values() {
        let a = panic_event(
            "index out of bounds: the len is 3 but the index is 5",
            vec![
                frame("shop::cart::Cart::item", 40),
                frame("shop::handlers::checkout", 12),
            ],
        );
        let mut b = panic_event(
            "index out of bounds: the len is 0 but the index is 17",
            vec![
                frame("shop::cart::Cart::item", 52),
                frame("shop::handlers::checkout", 19),
            ],
        );
        b.frames[0].column = Some(31);
        b.timestamp = Timestamp::from_millis(999_999);
        b.release = Some("2.0.0".into());
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn non_app_frames_and_hash_suffixes_do_not_matter() {
        let a = panic_event("boom", vec![frame("shop::a::f::h1111111111111111", 1)]);
        let mut b = panic_event(
            "boom",
            vec![
                std_frame("core::panicking::panic"),
                frame("shop::a::f::h2222222222222222", 9),
            ],
        );
        b.frames.push(std_frame("std::rt::lang_start"));
        assert_eq!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn recursion_depth_does_not_split_a_group() {
        let shallow = panic_event("stack", vec![frame("p::walk", 1), frame("p::main", 2)]);
        let deep = panic_event(
            "stack",
            vec![
                frame("p::walk", 1),
                frame("p::walk", 1),
                frame("p::walk", 1),
                frame("p::main", 2),
            ],
        );
        assert_eq!(fingerprint(&shallow), fingerprint(&deep));
    }

    #[test]
    fn different_messages_in_one_function_stay_apart() {
        let frames = vec![frame("shop::pricing::apply", 10)];
        let a = panic_event("attempt to subtract with overflow", frames.clone());
        let b = panic_event("attempt to divide by zero", frames);
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn same_message_in_different_functions_stays_apart() {
        let a = panic_event("called `Option::unwrap()` on a `None` value", vec![frame("shop::a", 1)]);
        let b = panic_event("called `Option::unwrap()` on a `None` value", vec![frame("shop::b", 1)]);
        assert_ne!(fingerprint(&a), fingerprint(&b));
    }

    #[test]
    fn kind_and_error_type_separate_groups() {
        let frames = vec![frame("svc::load", 3)];
        let p = panic_event("no such file", frames.clone());
        let mut e = p.clone();
        e.kind = EventKind::Error;
        assert_ne!(fingerprint(&p), fingerprint(&e));
        let mut io = e.clone();
        io.chain = vec![ChainLink {
            type_name: Some("std::io::Error".into()),
            message: "no such file".into(),
        }];
        let mut cfg = e.clone();
        cfg.chain = vec![ChainLink {
            type_name: Some("svc::ConfigError".into()),
            message: "no such file".into(),
        }];
        assert_ne!(fingerprint(&io), fingerprint(&cfg));
    }

    #[test]
    fn location_file_stands_in_without_frames_but_line_does_not_count() {
        let mut a = panic_event("boom", vec![]);
        a.location = Some(Location {
            file: "/build/a/src/lib.rs".into(),
            line: 3,
            column: Some(1),
        });
        let mut b = a.clone();
        b.location = Some(Location {
            file: "/home/ci/a/src/lib.rs".into(),
            line: 99,
            column: None,
        });
        assert_eq!(fingerprint(&a), fingerprint(&b));
        let mut c = a.clone();
        c.location = Some(Location {
            file: "/build/a/src/main.rs".into(),
            line: 3,
            column: Some(1),
        });
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }

    #[test]
    fn override_replaces_or_extends_default() {
        let base = panic_event("db timeout", vec![frame("svc::q", 1)]);
        let mut custom_a = base.clone();
        custom_a.fingerprint_parts = vec!["database-timeouts".into()];
        let mut custom_b = panic_event("totally different", vec![frame("svc::other", 1)]);
        custom_b.fingerprint_parts = vec!["database-timeouts".into()];
        assert_eq!(fingerprint(&custom_a), fingerprint(&custom_b));
        assert_ne!(fingerprint(&custom_a), fingerprint(&base));

        let mut t1 = base.clone();
        t1.fingerprint_parts = vec!["{{ default }}".into(), "tenant-1".into()];
        let mut t2 = base.clone();
        t2.fingerprint_parts = vec!["{{default}}".into(), "tenant-2".into()];
        assert_ne!(fingerprint(&t1), fingerprint(&t2));
        assert!(parts(&t1).iter().any(|p| p == "frame:svc::q"));
    }

    #[test]
    fn only_64_lowercase_hex_digits_parse() {
        let ok = "0123456789abcdef".repeat(4);
        assert!(Fingerprint::parse(&ok).is_ok());
        for bad in [
            String::new(),
            "0123456789ABCDEF".repeat(4),
            "0123456789abcdef".repeat(3),
            format!("{ok}0"),
            format!("{}g", &ok[..63]),
            "../../refs/heads/main".to_string(),
        ] {
            let err = Fingerprint::parse(&bad).unwrap_err().to_string();
            assert!(err.contains("64 lowercase hex digits"), "{bad}: {err}");
            let json = format!("{bad:?}");
            let de = serde_json::from_str::<Fingerprint>(&json).unwrap_err().to_string();
            assert!(de.contains("64 lowercase hex digits"), "{bad}: {de}");
        }
    }

    #[test]
    fn parts_are_length_prefixed_and_hex_is_stable() {
        assert_ne!(
            Fingerprint::from_parts(["ab", "c"]),
            Fingerprint::from_parts(["a", "bc"])
        );
        let fp = Fingerprint::from_parts(["x"]);
        assert_eq!(fp.as_str().len(), 64);
        assert!(fp
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(fp.short().len(), 12);
        assert_eq!(Fingerprint::parse(fp.as_str()).unwrap(), fp);
        // Pinned: a change here regroups every stored incident; bump the version prefix instead.
        assert_eq!(
            Fingerprint::from_parts(["x"]),
            Fingerprint::from_parts(vec!["x".to_string()])
        );
    }
}
