//! Small text helpers shared by the stages.

/// `text` cut to at most `max_bytes`, keeping the head and the tail (where
/// compiler errors and test failures usually are) with a marker in between.
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

    #[test]
    fn keeps_head_and_tail_within_budget() {
        let text = format!("HEAD{}TAIL", "x".repeat(10_000));
        let t = trim_middle(&text, 200);
        assert!(t.len() <= 200, "{}", t.len());
        assert!(t.starts_with("HEAD") && t.ends_with("TAIL") && t.contains("trimmed"));
        assert_eq!(trim_middle("short", 200), "short");
        let multibyte = "é".repeat(500);
        assert!(trim_middle(&multibyte, 101).len() <= 101);
    }
}
