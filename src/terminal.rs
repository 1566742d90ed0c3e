//! Terminal-safe text. Event text (messages, titles, file names, release
//! names) is attacker-controlled: before it reaches a terminal every control
//! character (including ESC, so no terminal escape sequences) is replaced by
//! `?`. Used by the CLI's output, the fix runner's progress lines and the demo.

/// `s` with control characters replaced by `?` and cut to `max` characters
/// (an ellipsis marks the cut).
pub fn sanitize(s: &str, max: usize) -> String {
    let mut out: String = s
        .chars()
        .take(max)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_terminal_escapes_and_cuts() {
        assert_eq!(sanitize("a\x1b[31mred\nb", 100), "a?[31mred?b");
        assert_eq!(sanitize("abcdef", 3), "abc…");
        assert_eq!(sanitize("héllo", 5), "héllo");
    }
}
