//! Serde helpers that enforce the [`limits`](crate::limits) while a value is
//! deserialized: an element past a cap is skipped as [`IgnoredAny`] (which
//! allocates nothing) or rejected, never built.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::limits::{CUT_MARKER, MAX_FIELD_BYTES, MAX_MESSAGE_BYTES};

/// `s` in at most `max` bytes: itself when it fits, else a prefix ending with
/// [`CUT_MARKER`]. Only the kept prefix is copied.
pub(crate) fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut out = crate::text::truncate(s, max.saturating_sub(CUT_MARKER.len())).to_owned();
    out.push_str(CUT_MARKER);
    out
}

struct StrVisitor {
    max: usize,
}

impl Visitor<'_> for StrVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(cut(v, self.max))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        if v.len() <= self.max {
            Ok(v)
        } else {
            Ok(cut(&v, self.max))
        }
    }
}

/// A string cut to `max` bytes (ending with [`CUT_MARKER`] when cut).
pub(crate) fn bounded_string<'de, D: Deserializer<'de>>(d: D, max: usize) -> Result<String, D::Error> {
    d.deserialize_str(StrVisitor { max })
}

/// A string cut to [`MAX_FIELD_BYTES`].
pub(crate) fn field<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    bounded_string(d, MAX_FIELD_BYTES)
}

/// A string cut to [`MAX_MESSAGE_BYTES`].
pub(crate) fn message<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    bounded_string(d, MAX_MESSAGE_BYTES)
}

/// An optional string cut to [`MAX_FIELD_BYTES`] (use with `#[serde(default)]`).
pub(crate) fn opt_field<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Option::<Field>::deserialize(d).map(|o| o.map(|f| f.0))
}

/// A string cut to [`MAX_FIELD_BYTES`], as a type (for elements of collections).
pub(crate) struct Field(pub(crate) String);

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        field(d).map(Field)
    }
}

/// A sequence kept to at most `cap` elements, plus how many were skipped.
pub(crate) struct Capped<T> {
    /// The kept elements.
    pub(crate) items: Vec<T>,
    /// Elements skipped past the cap.
    pub(crate) omitted: u64,
}

impl<T> Default for Capped<T> {
    fn default() -> Self {
        Capped {
            items: Vec::new(),
            omitted: 0,
        }
    }
}

/// Which elements a cut sequence keeps.
#[derive(Clone, Copy)]
pub(crate) enum Keep {
    /// The first `cap` (frames: innermost; chain: outermost).
    First,
    /// The last `cap` (breadcrumbs: the newest), in a ring of `cap`.
    Last,
}

struct CappedVisitor<T> {
    cap: usize,
    keep: Keep,
    marker: PhantomData<T>,
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for CappedVisitor<T> {
    type Value = Capped<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Capped<T>, A::Error> {
        let initial = seq.size_hint().unwrap_or(0).min(self.cap).min(16);
        let mut omitted = 0u64;
        let items = match self.keep {
            Keep::First => {
                let mut items = Vec::with_capacity(initial);
                while items.len() < self.cap {
                    match seq.next_element()? {
                        Some(x) => items.push(x),
                        None => return Ok(Capped { items, omitted }),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    omitted += 1;
                }
                items
            }
            Keep::Last => {
                let mut ring = VecDeque::with_capacity(initial);
                while let Some(x) = seq.next_element()? {
                    if ring.len() == self.cap {
                        ring.pop_front();
                        omitted += 1;
                    }
                    if self.cap > 0 {
                        ring.push_back(x);
                    } else {
                        omitted += 1;
                    }
                }
                ring.into()
            }
        };
        Ok(Capped { items, omitted })
    }
}

/// A sequence of at most `cap` elements; the excess is cut (see [`Keep`]).
pub(crate) fn capped_seq<'de, D, T>(d: D, cap: usize, keep: Keep) -> Result<Capped<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(CappedVisitor {
        cap,
        keep,
        marker: PhantomData,
    })
}

struct CappedMapVisitor {
    cap: usize,
    reject_as: Option<&'static str>,
}

impl<'de> Visitor<'de> for CappedMapVisitor {
    type Value = (BTreeMap<String, String>, u64);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of strings")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        let mut omitted = 0u64;
        loop {
            if out.len() < self.cap {
                match map.next_entry::<Field, Field>()? {
                    Some((k, v)) => {
                        out.insert(k.0, v.0);
                    }
                    None => break,
                }
            } else {
                if map.next_key::<IgnoredAny>()?.is_none() {
                    break;
                }
                if let Some(what) = self.reject_as {
                    return Err(de::Error::custom(format_args!(
                        "{what}: more than {} entries (the limit)",
                        self.cap
                    )));
                }
                map.next_value::<IgnoredAny>()?;
                omitted += 1;
            }
        }
        Ok((out, omitted))
    }
}

/// A string map of at most `cap` entries (strings cut to
/// [`MAX_FIELD_BYTES`]); the excess is skipped and counted.
pub(crate) fn capped_map<'de, D: Deserializer<'de>>(
    d: D,
    cap: usize,
) -> Result<(BTreeMap<String, String>, u64), D::Error> {
    d.deserialize_map(CappedMapVisitor { cap, reject_as: None })
}

/// A string map of at most `cap` entries; more is an error naming `what`.
pub(crate) fn limited_map<'de, D: Deserializer<'de>>(
    d: D,
    cap: usize,
    what: &'static str,
) -> Result<BTreeMap<String, String>, D::Error> {
    d.deserialize_map(CappedMapVisitor {
        cap,
        reject_as: Some(what),
    })
    .map(|(m, _)| m)
}

struct LimitedStringsVisitor {
    cap: usize,
    max_len: usize,
    what: &'static str,
}

struct LimitedStr {
    max_len: usize,
    what: &'static str,
}

impl Visitor<'_> for LimitedStr {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string of at most {} bytes", self.max_len)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        if v.len() > self.max_len {
            return Err(E::custom(format_args!(
                "{}: an entry of {} bytes, over the limit of {} bytes",
                self.what,
                v.len(),
                self.max_len
            )));
        }
        Ok(v.to_owned())
    }
}

impl<'de> de::DeserializeSeed<'de> for LimitedStr {
    type Value = String;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for LimitedStringsVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an array of at most {} strings", self.cap)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
        let mut out = Vec::new();
        while let Some(s) = seq.next_element_seed(LimitedStr {
            max_len: self.max_len,
            what: self.what,
        })? {
            if out.len() == self.cap {
                return Err(de::Error::custom(format_args!(
                    "{}: more than {} entries (the limit)",
                    self.what, self.cap
                )));
            }
            out.push(s);
        }
        Ok(out)
    }
}

/// At most `cap` strings of at most `max_len` bytes each; anything more is an
/// error naming `what` and the limit.
pub(crate) fn limited_strings<'de, D: Deserializer<'de>>(
    d: D,
    cap: usize,
    max_len: usize,
    what: &'static str,
) -> Result<Vec<String>, D::Error> {
    d.deserialize_seq(LimitedStringsVisitor { cap, max_len, what })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cut_keeps_a_marked_prefix_within_the_budget() {
        assert_eq!(cut("short", 10), "short");
        let c = cut(&"é".repeat(100), 11);
        assert!(c.len() <= 11 && c.ends_with(CUT_MARKER), "{c}");
        assert!(c.starts_with("éééé"), "{c}");
    }

    #[test]
    fn capped_seq_keeps_first_or_last() {
        let json = "[1,2,3,4,5]";
        let first: Capped<u32> = capped_seq(&mut serde_json::Deserializer::from_str(json), 2, Keep::First).unwrap();
        assert_eq!((first.items, first.omitted), (vec![1, 2], 3));
        let last: Capped<u32> = capped_seq(&mut serde_json::Deserializer::from_str(json), 2, Keep::Last).unwrap();
        assert_eq!((last.items, last.omitted), (vec![4, 5], 3));
    }

    #[test]
    fn limited_strings_reject_with_the_field_and_limit() {
        let err = limited_strings(
            &mut serde_json::Deserializer::from_str(r#"["a","b","c"]"#),
            2,
            8,
            "parts",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("parts") && err.contains('2'), "{err}");
        let err = limited_strings(
            &mut serde_json::Deserializer::from_str(r#"["abcdefghij"]"#),
            2,
            8,
            "parts",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("over the limit of 8 bytes"), "{err}");
    }
}
