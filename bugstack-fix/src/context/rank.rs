//! Ranking snippets and cutting them to a token budget.
//!
//! Order: the failing function; then callers and callees by frame distance
//! (a caller `n` frames up has distance `n`, a callee distance 1); then
//! types and constants; then the imports; then tests; then the manifest.
//! Snippets are taken greedily in that order: one that does not fit the
//! remaining budget is left out (and counted), smaller later ones may still
//! fit.

use super::{estimate_tokens, Snippet, SnippetKind};

/// A snippet waiting to be ranked.
pub(crate) struct SnippetCandidate {
    /// The snippet.
    pub(crate) snippet: Snippet,
    /// Frame distance from the failing function (0 for the function itself
    /// and for items not tied to a frame).
    pub(crate) distance: usize,
    /// First line of the item itself, when the snippet starts earlier (a
    /// method shown under its `impl` header): other items of the same
    /// `impl` are not covered by it.
    pub(crate) item_start: Option<u32>,
}

fn group(kind: SnippetKind) -> u8 {
    match kind {
        SnippetKind::FailingFunction => 0,
        SnippetKind::Caller | SnippetKind::Callee => 1,
        SnippetKind::Type | SnippetKind::Constant => 2,
        SnippetKind::Imports => 3,
        SnippetKind::Test => 4,
        SnippetKind::Manifest => 5,
    }
}

/// The result of [`rank_and_cut`].
pub(crate) struct Ranked {
    /// Kept snippets, most important first.
    pub(crate) snippets: Vec<Snippet>,
    /// Estimated tokens they use.
    pub(crate) tokens: usize,
    /// Snippets left out for the budget.
    pub(crate) omitted: usize,
}

/// Sorts `candidates` by importance, drops ones covered by a more important
/// snippet of the same file, and keeps what fits in `budget` tokens.
pub(crate) fn rank_and_cut(mut candidates: Vec<SnippetCandidate>, budget: usize) -> Ranked {
    // A stable sort keeps discovery order within equal keys.
    candidates.sort_by_key(|c| (group(c.snippet.kind), c.distance, c.snippet.kind));
    let mut kept: Vec<Snippet> = Vec::new();
    let mut tokens = 0;
    let mut omitted = 0;
    let mut seen: Vec<(String, u32, u32)> = Vec::new();
    for c in candidates {
        let s = c.snippet;
        let covered = s.kind != SnippetKind::Imports
            && s.kind != SnippetKind::Manifest
            && seen
                .iter()
                .any(|(p, a, b)| *p == s.path && *a <= s.start_line && s.end_line <= *b);
        if covered {
            continue;
        }
        let cost = estimate_tokens(&s.text);
        if tokens + cost > budget {
            omitted += 1;
            continue;
        }
        tokens += cost;
        if s.kind != SnippetKind::Imports && s.kind != SnippetKind::Manifest {
            let start = c.item_start.unwrap_or(s.start_line).max(s.start_line);
            seen.push((s.path.clone(), start, s.end_line));
        }
        kept.push(s);
    }
    Ranked {
        snippets: kept,
        tokens,
        omitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A candidate of `len` characters at `lines` of `path`, `distance`
    /// calls from the panic.
    fn candidate(kind: SnippetKind, path: &str, lines: (u32, u32), len: usize, distance: usize) -> SnippetCandidate {
        SnippetCandidate {
            snippet: Snippet {
                kind,
                path: path.into(),
                start_line: lines.0,
                end_line: lines.1,
                item: None,
                reason: String::new(),
                text: "x".repeat(len),
            },
            distance,
            item_start: None,
        }
    }

    #[test]
    fn orders_dedupes_and_cuts() {
        let cands = vec![
            candidate(SnippetKind::Manifest, "Cargo.toml", (1, 5), 40, 0),
            candidate(SnippetKind::Caller, "src/b.rs", (1, 9), 40, 2),
            candidate(SnippetKind::Type, "src/a.rs", (1, 3), 40, 0),
            candidate(SnippetKind::Callee, "src/a.rs", (20, 30), 40, 1),
            candidate(SnippetKind::FailingFunction, "src/a.rs", (10, 40), 40, 0),
            candidate(SnippetKind::Test, "tests/t.rs", (1, 9), 4000, 0),
        ];
        let r = rank_and_cut(cands, 50);
        let kinds: Vec<SnippetKind> = r.snippets.iter().map(|s| s.kind).collect();
        // The callee lies inside the failing function's lines: dropped as covered.
        assert_eq!(
            kinds,
            vec![
                SnippetKind::FailingFunction,
                SnippetKind::Caller,
                SnippetKind::Type,
                SnippetKind::Manifest
            ]
        );
        assert_eq!(r.tokens, 40);
        assert_eq!(r.omitted, 1);
    }
}
