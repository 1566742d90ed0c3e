//! Strict parsing of the model's reply (the format in
//! [`super::prompt::REPLY_FORMAT`]) and normalisation of its diff.

use crate::{Error, Result};

/// The parts of a well-formed reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reply {
    /// `<root_cause>`.
    pub root_cause: String,
    /// `<explanation>`.
    pub explanation: String,
    /// `<test_path>`, normalised (no `a/`/`b/`/`./` prefix).
    pub test_path: String,
    /// `<test_name>`.
    pub test_name: String,
    /// `<confidence>`, in 0..=1.
    pub confidence: f64,
    /// `<diff>`, with its headers normalised to git's `a/`/`b/` form.
    pub diff: String,
}

fn bad(reason: impl std::fmt::Display) -> Error {
    Error::Generate(format!("the model's answer is not in the required format: {reason}"))
}

/// The text of the single `<name>...</name>` section of `text`, and `text`
/// with that section removed. `None` when there is no such section.
fn take_section(text: &str, name: &str) -> Result<Option<(String, String)>> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let Some(start) = text.find(&open) else {
        return Ok(None);
    };
    let body_start = start + open.len();
    let Some(len) = text[body_start..].find(&close) else {
        return Err(bad(format!("the {open} section is not closed (a cut-off answer?)")));
    };
    let body = text[body_start..body_start + len].to_string();
    let rest = format!("{}{}", &text[..start], &text[body_start + len + close.len()..]);
    if rest.contains(&open) {
        return Err(bad(format!("more than one {open} section")));
    }
    Ok(Some((body, rest)))
}

fn required(text: &str, name: &str) -> Result<(String, String)> {
    take_section(text, name)?.ok_or_else(|| bad(format!("the <{name}> section is missing")))
}

/// Parses a reply strictly: every section present exactly once and closed,
/// non-empty, the confidence a number in 0..=1, the diff a unified diff.
pub(crate) fn parse_reply(text: &str) -> Result<Reply> {
    if text.trim().is_empty() {
        return Err(bad("the answer is empty"));
    }
    // The diff first, so tags quoted inside code cannot confuse the rest.
    let (diff, rest) =
        take_section(text, "diff")?.ok_or_else(|| bad("the <diff> section is missing (the answer has no diff)"))?;
    let (root_cause, rest) = required(&rest, "root_cause")?;
    let (explanation, rest) = required(&rest, "explanation")?;
    let (test_path, rest) = required(&rest, "test_path")?;
    let (test_name, rest) = required(&rest, "test_name")?;
    let (confidence, _) = required(&rest, "confidence")?;
    let nonempty = |name: &str, v: String| -> Result<String> {
        let v = v.trim().to_string();
        if v.is_empty() {
            Err(bad(format!("the <{name}> section is empty")))
        } else {
            Ok(v)
        }
    };
    let confidence_text = nonempty("confidence", confidence)?;
    let confidence: f64 = confidence_text
        .parse()
        .ok()
        .filter(|c: &f64| (0.0..=1.0).contains(c))
        .ok_or_else(|| {
            bad(format!(
                "<confidence> must be a number from 0 to 1, got {confidence_text:?}"
            ))
        })?;
    let diff = strip_code_fence(&diff);
    if diff.trim().is_empty() {
        return Err(bad("the <diff> section is empty"));
    }
    let test_name = nonempty("test_name", test_name)?;
    if test_name.chars().any(char::is_whitespace) {
        return Err(bad(format!("<test_name> must be one test path, got {test_name:?}")));
    }
    Ok(Reply {
        root_cause: nonempty("root_cause", root_cause)?,
        explanation: nonempty("explanation", explanation)?,
        test_path: normalise_path(&nonempty("test_path", test_path)?),
        test_name,
        confidence,
        diff: normalise_diff(&diff),
    })
}

/// The diff without a surrounding Markdown code fence and blank edge lines.
fn strip_code_fence(diff: &str) -> String {
    let mut lines: Vec<&str> = diff.lines().collect();
    while lines.first().is_some_and(|l| l.trim().is_empty()) {
        lines.remove(0);
    }
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    if lines.first().is_some_and(|l| l.trim_start().starts_with("```"))
        && lines.last().is_some_and(|l| l.trim() == "```")
        && lines.len() >= 2
    {
        lines.remove(0);
        lines.pop();
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// A repository-relative path from a diff header or a reply: no `a/`, `b/`
/// or `./` prefix, no timestamp suffix, `/`-separated.
pub(crate) fn normalise_path(raw: &str) -> String {
    let p = raw.split('\t').next().unwrap_or(raw).trim().replace('\\', "/");
    let p = p
        .strip_prefix("a/")
        .or_else(|| p.strip_prefix("b/"))
        .unwrap_or(&p)
        .to_string();
    p.strip_prefix("./").unwrap_or(&p).to_string()
}

/// Rewrites file headers to git's form (`diff --git a/P b/P`, `--- a/P` or
/// `--- /dev/null`, `+++ b/P`) whatever prefix style the model used, and
/// drops git's extended header lines (`index`, modes), which the model
/// cannot get right anyway. Hunk lines are kept as they are.
pub(crate) fn normalise_diff(diff: &str) -> String {
    let lines: Vec<&str> = diff.lines().collect();
    let mut out = String::with_capacity(diff.len() + 64);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let is_git_header = [
            "diff --git ",
            "index ",
            "new file mode",
            "deleted file mode",
            "old mode",
            "new mode",
            "similarity index",
        ]
        .iter()
        .any(|h| line.starts_with(h));
        if is_git_header {
            i += 1;
            continue;
        }
        if let (Some(old), Some(new)) = (
            line.strip_prefix("--- "),
            lines.get(i + 1).and_then(|l| l.strip_prefix("+++ ")),
        ) {
            let old = header_path(old);
            let new = header_path(new);
            let name = new.as_deref().or(old.as_deref()).unwrap_or_default();
            out.push_str(&format!("diff --git a/{name} b/{name}\n"));
            match &old {
                Some(p) => out.push_str(&format!("--- a/{p}\n")),
                None => out.push_str("--- /dev/null\n"),
            }
            match &new {
                Some(p) => out.push_str(&format!("+++ b/{p}\n")),
                None => out.push_str("+++ /dev/null\n"),
            }
            i += 2;
            continue;
        }
        out.push_str(line);
        out.push('\n');
        i += 1;
    }
    out
}

fn header_path(raw: &str) -> Option<String> {
    let p = raw.split('\t').next().unwrap_or(raw).trim();
    (p != "/dev/null").then(|| normalise_path(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIFF: &str = "--- src/lib.rs\n+++ src/lib.rs\n@@ -1 +1 @@\n-a\n+b\n";

    fn reply(diff: &str) -> String {
        format!(
            "Sure.\n<root_cause>x is None</root_cause>\n<explanation>use get</explanation>\n\
<test_path>./src/lib.rs</test_path>\n<test_name>tests::t</test_name>\n<confidence>0.7</confidence>\n\
<diff>\n```diff\n{diff}```\n</diff>\n"
        )
    }

    #[test]
    fn parses_and_normalises() {
        let r = parse_reply(&reply(DIFF)).unwrap();
        assert_eq!(r.root_cause, "x is None");
        assert_eq!(r.test_path, "src/lib.rs");
        assert_eq!(r.confidence, 0.7);
        assert_eq!(
            r.diff,
            "diff --git a/src/lib.rs b/src/lib.rs\n--- a/src/lib.rs\n+++ b/src/lib.rs\n@@ -1 +1 @@\n-a\n+b\n"
        );
    }

    #[test]
    fn new_files_keep_dev_null() {
        let d = normalise_diff("diff --git a/t.rs b/t.rs\nnew file mode 100644\nindex 0000000..1111111\n--- /dev/null\n+++ b/t.rs\n@@ -0,0 +1 @@\n+x\n");
        assert_eq!(
            d,
            "diff --git a/t.rs b/t.rs\n--- /dev/null\n+++ b/t.rs\n@@ -0,0 +1 @@\n+x\n"
        );
    }

    #[test]
    fn rejects_bad_replies() {
        let cases = [
            ("", "empty"),
            ("I think the bug is in cart.rs.", "no diff"),
            (&reply(DIFF).replace("</diff>", ""), "not closed"),
            (
                &reply(DIFF).replace("<root_cause>x is None</root_cause>", ""),
                "<root_cause> section is missing",
            ),
            (&reply(DIFF).replace("0.7", "very"), "number from 0 to 1"),
            (&reply(DIFF).replace("0.7", "1.5"), "number from 0 to 1"),
            (&reply(DIFF).replace("tests::t", " "), "<test_name> section is empty"),
            (&format!("{}<confidence>1</confidence>", reply(DIFF)), "more than one"),
            (&reply(""), "<diff> section is empty"),
        ];
        for (text, want) in cases {
            let err = parse_reply(text).unwrap_err();
            assert!(matches!(err, Error::Generate(_)), "{err}");
            assert!(err.to_string().contains(want), "{text:?}: {err}");
        }
    }
}
