//! The source file as text: span → byte offsets, line endings, indentation,
//! and byte-span edits that leave everything else untouched.

use proc_macro2::{LineColumn, Span};

/// A source file's text with a line index.
#[derive(Debug)]
pub(crate) struct Source<'a> {
    /// The full text.
    pub(crate) text: &'a str,
    /// Byte offset where each line starts (index 0 = line 1).
    line_starts: Vec<usize>,
}

impl<'a> Source<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Source { text, line_starts }
    }

    /// The text of 1-based `line` without its line ending.
    pub(crate) fn line(&self, line: usize) -> &'a str {
        let Some(&start) = self.line_starts.get(line.wrapping_sub(1)) else {
            return "";
        };
        let end = self.line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// Byte offset where 1-based `line` starts.
    pub(crate) fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.wrapping_sub(1)).copied()
    }

    /// Byte offset of a proc-macro2 position (1-based line, 0-based column
    /// counted in chars).
    pub(crate) fn offset(&self, lc: LineColumn) -> Option<usize> {
        let start = self.line_start(lc.line)?;
        let line = self.line(lc.line);
        if lc.column == 0 {
            return Some(start);
        }
        match line.char_indices().nth(lc.column) {
            Some((i, _)) => Some(start + i),
            None if line.chars().count() == lc.column => Some(start + line.len()),
            None => None,
        }
    }

    /// Byte range of a span.
    pub(crate) fn range(&self, span: Span) -> Option<std::ops::Range<usize>> {
        let start = self.offset(span.start())?;
        let end = self.offset(span.end())?;
        (start <= end).then_some(start..end)
    }

    /// The text under a span.
    pub(crate) fn slice(&self, span: Span) -> Option<&'a str> {
        self.range(span).map(|r| &self.text[r])
    }

    /// The columns rustc may report for a position: the 1-based char column
    /// and the 1-based display column (rustc counts a tab as 4 columns).
    pub(crate) fn report_columns(&self, lc: LineColumn) -> [usize; 2] {
        let line = self.line(lc.line);
        let display: usize = line
            .chars()
            .take(lc.column)
            .map(|c| if c == '\t' { 4 } else { 1 })
            .sum();
        [lc.column + 1, display + 1]
    }

    /// Leading whitespace of 1-based `line`.
    pub(crate) fn indent_of(&self, line: usize) -> &'a str {
        let l = self.line(line);
        &l[..l.len() - l.trim_start_matches([' ', '\t']).len()]
    }

    /// Whether only whitespace precedes `lc` on its line.
    pub(crate) fn first_on_line(&self, lc: LineColumn) -> bool {
        self.line(lc.line)
            .chars()
            .take(lc.column)
            .all(|c| c == ' ' || c == '\t')
    }

    /// The file's line ending (`\r\n` when the file uses CRLF).
    pub(crate) fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// One level of indentation as the file writes it: a tab when lines are
    /// tab-indented, else the smallest space indentation (4 when unknown).
    pub(crate) fn indent_unit(&self) -> String {
        let mut min_spaces = usize::MAX;
        for i in 1..=self.line_starts.len() {
            let line = self.line(i);
            if line.starts_with('\t') {
                return "\t".into();
            }
            let n = line.len() - line.trim_start_matches(' ').len();
            let rest = line.trim_start_matches(' ');
            if n > 0 && !rest.is_empty() && !rest.starts_with('*') {
                min_spaces = min_spaces.min(n);
            }
        }
        if (2..=8).contains(&min_spaces) {
            " ".repeat(min_spaces)
        } else {
            "    ".into()
        }
    }
}

/// Replace `start..end` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Edit {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) text: String,
}

impl Edit {
    pub(crate) fn replace(range: std::ops::Range<usize>, text: impl Into<String>) -> Self {
        Edit {
            start: range.start,
            end: range.end,
            text: text.into(),
        }
    }

    pub(crate) fn insert(at: usize, text: impl Into<String>) -> Self {
        Edit {
            start: at,
            end: at,
            text: text.into(),
        }
    }
}

/// Applies non-overlapping edits; `None` when two overlap or one is out of
/// range.
pub(crate) fn apply_edits(text: &str, edits: &[Edit]) -> Option<String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    for e in sorted {
        if e.start < pos || e.end < e.start || e.end > text.len() {
            return None;
        }
        out.push_str(text.get(pos..e.start)?);
        out.push_str(&e.text);
        pos = e.end;
    }
    out.push_str(text.get(pos..)?);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_chars_not_bytes() {
        let s = Source::new("é = 1;\r\n\tlet x = 2;\n");
        assert_eq!(s.offset(LineColumn { line: 1, column: 1 }), Some(2));
        assert_eq!(s.offset(LineColumn { line: 2, column: 1 }), Some(10));
        assert_eq!(s.line(1), "é = 1;");
        assert_eq!(s.newline(), "\r\n");
        assert_eq!(s.indent_unit(), "\t");
        assert_eq!(s.report_columns(LineColumn { line: 2, column: 1 }), [2, 5]);
    }

    #[test]
    fn edits_apply_in_order_and_reject_overlaps() {
        let t = "abcdef";
        let out = apply_edits(t, &[Edit::replace(3..4, "X"), Edit::insert(0, ">")]).unwrap();
        assert_eq!(out, ">abcXef");
        assert!(apply_edits(t, &[Edit::replace(1..4, "X"), Edit::replace(2..5, "Y")]).is_none());
    }
}
