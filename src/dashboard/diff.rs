//! A unified diff shown with simple highlighting: each line gets a class
//! (added, removed, hunk header, file header, context), escaped as text.

use maud::{html, Markup};

/// What a diff line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// `diff --git`, `index`, `---`, `+++`.
    File,
    /// `@@ ... @@`.
    Hunk,
    /// `+...`.
    Added,
    /// `-...`.
    Removed,
    /// Anything else.
    Context,
}

impl LineKind {
    fn class(self) -> &'static str {
        match self {
            LineKind::File => "d-file",
            LineKind::Hunk => "d-hunk",
            LineKind::Added => "d-add",
            LineKind::Removed => "d-del",
            LineKind::Context => "d-ctx",
        }
    }
}

/// The kind of one diff line.
pub(crate) fn kind(line: &str) -> LineKind {
    if line.starts_with("diff --git")
        || line.starts_with("index ")
        || line.starts_with("--- ")
        || line.starts_with("+++ ")
    {
        LineKind::File
    } else if line.starts_with("@@") {
        LineKind::Hunk
    } else if line.starts_with('+') {
        LineKind::Added
    } else if line.starts_with('-') {
        LineKind::Removed
    } else {
        LineKind::Context
    }
}

/// Most diff lines shown (the rest is summarised).
const MAX_LINES: usize = 2000;

/// `diff` as a highlighted block.
pub(crate) fn render(diff: &str) -> Markup {
    let total = diff.lines().count();
    html! {
        pre.diff {
            @for line in diff.lines().take(MAX_LINES) {
                span class=(kind(line).class()) { (line) "\n" }
            }
            @if total > MAX_LINES {
                span.d-ctx { "… " (total - MAX_LINES) " more lines" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_classed_and_escaped() {
        let d = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-let a = <b>;\n+let a = 1;\n ctx";
        let kinds: Vec<LineKind> = d.lines().map(kind).collect();
        assert_eq!(
            kinds,
            [
                LineKind::File,
                LineKind::File,
                LineKind::File,
                LineKind::Hunk,
                LineKind::Removed,
                LineKind::Added,
                LineKind::Context
            ]
        );
        let html = render(d).into_string();
        assert!(html.contains(r#"<span class="d-del">-let a = &lt;b&gt;;"#), "{html}");
        assert!(html.contains(r#"<span class="d-add">+let a = 1;"#));
    }
}
