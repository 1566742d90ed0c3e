//! Seeds from the panic message. The standard library's panics quote the
//! values they failed on: the text a `str` was sliced from (`… of
//! \`héllo\``), the char a slice cut into (`inside 'é'`), indices and
//! lengths (`the len is 4 but the index is 4`). A failed `unwrap` prints
//! the error's `Debug`, whose strings are quoted too. The text that
//! panicked is often the input itself, or a part of it, so the search tries
//! these values first.
//!
//! The message comes from the event, so it is attacker-controlled: its
//! values only become literals of the harness (written with `{:?}`), never
//! code, and each is bounded in length and number.

use super::harness::Seeds;

/// Longest quoted text kept. The standard library cuts a quoted `str` at
/// 256 bytes (and appends `[...]`); a user's `Debug` may be longer.
const MAX_TEXT: usize = 1_024;

/// Most values of each kind kept from one message.
const MAX_VALUES: usize = 8;

/// Where the standard library's slicing panics quote the text they cut.
const TEXT_MARKERS: [&str; 2] = [" of `", "when slicing `"];

/// The values `message` quotes: texts (as strings and as bytes), chars (as
/// one-char strings) and integers, first come first.
pub(crate) fn seeds(message: &str) -> Seeds {
    let mut seeds = Seeds::default();
    if let Some(text) = sliced_text(message) {
        keep(&mut seeds, text.to_string());
    }
    for c in quoted_chars(message).into_iter().take(MAX_VALUES) {
        keep(&mut seeds, c.to_string());
    }
    for text in debug_strings(message).into_iter().take(MAX_VALUES) {
        keep(&mut seeds, text);
    }
    for v in integers(message).into_iter().take(MAX_VALUES) {
        if !seeds.ints.contains(&v) {
            seeds.ints.push(v);
        }
    }
    seeds
}

/// Keeps `text` as a string and as bytes, when it is short enough, there
/// is room and it is new.
fn keep(seeds: &mut Seeds, text: String) {
    if text.len() <= MAX_TEXT && seeds.strings.len() < 2 * MAX_VALUES && !seeds.strings.contains(&text) {
        seeds.bytes.push(text.clone().into_bytes());
        seeds.strings.push(text);
    }
}

/// The text a slicing panic quotes: from its marker to the message's last
/// backtick (the text may hold backticks itself; `[...]` may follow).
fn sliced_text(message: &str) -> Option<&str> {
    let start = TEXT_MARKERS
        .iter()
        .filter_map(|m| message.find(m).map(|at| at + m.len()))
        .min()?;
    let end = message.rfind('`')?;
    (end >= start).then(|| &message[start..end])
}

/// Chars quoted as `Debug` writes them (`'é'`, `'\n'`, `'\u{301}'`).
fn quoted_chars(message: &str) -> Vec<char> {
    let mut out = Vec::new();
    let mut rest = message;
    while let Some(at) = rest.find('\'') {
        let after = &rest[at + 1..];
        let Some(close) = after.find('\'') else { break };
        let inner = &after[..close];
        match unescape(inner).as_deref().map(str::chars) {
            Some(mut chars) => {
                if let (Some(c), None) = (chars.next(), chars.next()) {
                    if !out.contains(&c) {
                        out.push(c);
                    }
                }
                rest = &after[close + 1..];
            }
            // Not a char literal (an apostrophe in prose): look on from the
            // closing quote, which may open the next one.
            None => rest = after,
        }
    }
    out
}

/// Strings quoted as `Debug` writes them (`Err(Invalid("a\"b"))`), with
/// their escapes undone; an unclosed or badly escaped one is skipped.
fn debug_strings(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = message.char_indices();
    while let Some((start, c)) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut escaped = false;
        let mut end = None;
        for (i, c) in chars.by_ref() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let Some(end) = end else { break };
        if let Some(s) = unescape(&message[start + 1..end]) {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Undoes `Debug`'s escapes (`\n`, `\t`, `\r`, `\0`, `\\`, `\'`, `\"`,
/// `\u{..}`); `None` when an escape is not one of these.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next()? {
            'n' => '\n',
            't' => '\t',
            'r' => '\r',
            '0' => '\0',
            c @ ('\\' | '\'' | '"') => c,
            'u' => {
                let rest = chars.as_str().strip_prefix('{')?;
                let close = rest.find('}')?;
                let c = char::from_u32(u32::from_str_radix(&rest[..close], 16).ok()?)?;
                chars = rest[close + 1..].chars();
                c
            }
            _ => return None,
        });
    }
    Some(out)
}

/// The integers the message writes in decimal (`4`, `-1`, the `2` and `4`
/// of `2..4`), not digits inside a word (`u8`, `x86_64`) or a hex number.
fn integers(message: &str) -> Vec<i128> {
    let bytes = message.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let word_before = start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
        let word_after = i < bytes.len() && (bytes[i].is_ascii_alphabetic() || bytes[i] == b'_');
        if word_before || word_after {
            continue;
        }
        let negative = start > 0 && bytes[start - 1] == b'-';
        if let Ok(v) = message[start..i].parse::<i128>() {
            let v = if negative { -v } else { v };
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_char_boundary_panic_gives_its_text_char_and_indices() {
        let s = seeds("byte index 2 is not a char boundary; it is inside 'é' (bytes 1..3) of `hé`llo`[...]");
        assert_eq!(s.strings, ["hé`llo", "é"]);
        assert_eq!(s.bytes[0], "hé`llo".as_bytes());
        assert_eq!(s.ints, [2, 1, 3]);
    }

    #[test]
    fn a_slicing_panic_gives_its_text() {
        let s = seeds("begin <= end (4 <= 2) when slicing `{world}`");
        assert_eq!(s.strings, ["{world}"]);
        assert_eq!(s.ints, [4, 2]);
        let s = seeds("byte index 7 is out of bounds of `babab`");
        assert_eq!(s.strings, ["babab"]);
        assert_eq!(s.ints, [7]);
    }

    #[test]
    fn an_unwrapped_errors_debug_strings_are_unescaped() {
        let s = seeds(r#"called `Result::unwrap()` on an `Err` value: Invalid("a\"b\n", '\u{e9}', -1)"#);
        assert_eq!(s.strings, ["é", "a\"b\n"]);
        assert_eq!(s.ints, [-1]);
    }

    #[test]
    fn digits_inside_words_and_apostrophes_in_prose_are_not_values() {
        let s = seeds("can't parse u8 on x86_64: the len is 4 but the index is 4, isn't it");
        assert!(s.strings.is_empty(), "{:?}", s.strings);
        assert_eq!(s.ints, [4]);
    }

    /// What a hostile message quotes is data: written as the harness
    /// writes it (`{:?}`), each value reads back as one string literal of
    /// the same value, never as code.
    #[test]
    fn a_hostile_messages_values_stay_literals() {
        let message = "x of `\"); std::process::exit(1); (\"` \"a\\\"); drop(0); //\" '\\''";
        let s = seeds(message);
        assert!(s.strings.iter().any(|t| t.contains("exit(1)")), "{:?}", s.strings);
        for text in &s.strings {
            let lit: syn::LitStr = syn::parse_str(&format!("{text:?}")).expect("one string literal");
            assert_eq!(&lit.value(), text);
        }
    }

    #[test]
    fn values_are_bounded() {
        let long = "a".repeat(MAX_TEXT + 1);
        let many: String = (0..40).map(|i| format!("\"s{i}\" {i} ")).collect();
        let s = seeds(&format!("x of `{long}` {many}"));
        assert!(s.strings.iter().all(|t| t.len() <= MAX_TEXT));
        assert_eq!(s.strings.len(), MAX_VALUES);
        assert_eq!(s.ints.len(), MAX_VALUES);
        assert!(seeds("\"unclosed \\q\" 'ab' `").strings.is_empty());
    }
}
