//! Cutting text to a budget without splitting a character.
//!
//! | function | budget | marks the cut |
//! |---|---|---|
//! | [`truncate`] / [`truncate_owned`] | bytes | no (a prefix) |
//! | [`ellipsize`] | characters | `…` |
//! | [`trim_middle`] | bytes | a line in the middle; head and tail kept |
//! | [`short_id`] | 12 characters | no (a commit id prefix) |
//!
//! [`one_line`] flattens text for a single-line field.

/// The longest prefix of `s` of at most `max_bytes` bytes that ends on a
/// char boundary.
pub fn truncate(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    &s[..floor_char_boundary(s, max_bytes)]
}

/// [`truncate`] for an owned string: `s` itself when it fits, else a copy
/// of the kept prefix only (the rest of `s`'s allocation is freed, not
/// kept as capacity).
pub fn truncate_owned(s: String, max_bytes: usize) -> String {
    if s.len() <= max_bytes {
        return s;
    }
    truncate(&s, max_bytes).to_owned()
}

/// `s` in at most `max_chars` characters: as it is when it fits, else its
/// first `max_chars - 1` characters, trailing whitespace trimmed, then `…`.
/// (A cut always keeps the `…`, so the result of `max_chars == 0` is `…`.)
pub fn ellipsize(s: &str, max_chars: usize) -> String {
    if s.chars().nth(max_chars).is_none() {
        return s.to_string();
    }
    let kept: String = s.chars().take(max_chars.saturating_sub(1)).collect();
    let mut out = kept.trim_end().to_string();
    out.push('…');
    out
}

/// `text` in at most `max_bytes` bytes, keeping the head and the tail (where
/// compiler errors and test failures usually are) with a marker line in
/// between.
pub fn trim_middle(text: &str, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text.to_string();
    }
    let marker = "\n[... output trimmed ...]\n";
    let keep = max_bytes.saturating_sub(marker.len());
    let head_len = floor_char_boundary(text, keep / 3);
    let tail_start = ceil_char_boundary(text, text.len() - (keep - keep / 3));
    format!("{}{marker}{}", &text[..head_len], &text[tail_start..])
}

/// `s` on one line: control characters (newlines included) become spaces,
/// runs of whitespace collapse to one space, and the ends are trimmed.
pub fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first 12 characters of a commit id, enough to name it in messages
/// (the whole id when it is shorter).
pub fn short_id(id: &str) -> &str {
    match id.char_indices().nth(12) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cut(text, max)` is the expected text of each case `(text, max, expected)`.
    fn assert_cuts(cut: impl Fn(&str, usize) -> String, cases: &[(&str, usize, &str)]) {
        for (text, max, expected) in cases {
            assert_eq!(cut(text, *max), *expected, "{text:?} to {max}");
        }
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let cases = [
            ("héllo", 2, "h"),
            ("héllo", 3, "hé"),
            ("abc", 10, "abc"),
            ("abc", 0, ""),
            ("€", 2, ""),
        ];
        assert_cuts(|text, max| truncate(text, max).to_owned(), &cases);
        assert_eq!(truncate_owned("héllo".to_string(), 2), "h");
        assert_eq!(truncate_owned("abc".to_string(), 3), "abc");
    }

    #[test]
    fn truncate_owned_keeps_only_the_prefix() {
        let long = "x".repeat(1 << 20);
        let cut = truncate_owned(long, 16);
        assert_eq!(cut, "x".repeat(16));
        assert!(cut.capacity() < 1024, "{}", cut.capacity());
    }

    #[test]
    fn ellipsize_counts_characters_and_marks_the_cut() {
        let cases = [
            ("short", 5, "short"),
            ("ééééé", 5, "ééééé"),
            ("éééééé", 5, "éééé…"),
            ("ab cd", 4, "ab…"),
            ("abc", 0, "…"),
            ("", 0, ""),
        ];
        assert_cuts(ellipsize, &cases);
        assert!(ellipsize(&"😀".repeat(100), 10).chars().count() <= 10);
    }

    #[test]
    fn trim_middle_keeps_head_and_tail_within_budget() {
        let text = format!("HEAD{}TAIL", "x".repeat(10_000));
        let t = trim_middle(&text, 200);
        assert!(t.len() <= 200, "{}", t.len());
        assert!(t.starts_with("HEAD") && t.ends_with("TAIL") && t.contains("trimmed"));
        assert_eq!(trim_middle("short", 200), "short");
        for budget in [0, 1, 27, 101, 102, 103] {
            let multibyte = "é".repeat(500);
            assert!(trim_middle(&multibyte, budget).len() <= budget.max(26), "{budget}");
        }
    }

    #[test]
    fn one_line_and_short_ids() {
        assert_eq!(one_line(" a\n\tb\u{7}  c "), "a b c");
        assert_eq!(short_id("0123456789abcdef"), "0123456789ab");
        assert_eq!(short_id("abc"), "abc");
        assert_eq!(short_id("ééééééééééééé"), "éééééééééééé");
    }
}
