//! Panic classes, recognised from the panic message (the syntax at the
//! panic location confirms them: the template generator's `locate`). A leaf
//! shared by the generator, the reproduction search and the report.

use std::fmt;

/// A panic class the template generator knows how to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PanicClass {
    /// `Option::unwrap()` / `Option::expect()` on `None`.
    UnwrapNone,
    /// `Result::unwrap()` / `Result::expect()` on `Err`.
    UnwrapErr,
    /// `x.parse::<T>().unwrap()` on input that does not parse.
    ParseUnwrap,
    /// `v[i]` with `i >= v.len()`.
    IndexOob,
    /// `&v[a..b]` with a range outside the slice (or `a > b`).
    SliceRange,
    /// `map[&key]` (`HashMap`, `BTreeMap`) with a key that is not in the map.
    MissingKey,
    /// `Vec::remove` / `swap_remove` (index `>= len`) or `Vec::insert`
    /// (index `> len`).
    VecPosition,
    /// Integer division by zero.
    DivZero,
    /// Integer remainder by zero.
    RemZero,
    /// Integer add / subtract / multiply / divide overflow.
    Overflow(OverflowOp),
    /// `&s[a..b]` on a `str` where a bound is not on a char boundary.
    CharBoundary,
    /// An explicit panic: `panic!`, `unreachable!`, or a failed `assert!`,
    /// `assert_eq!` or `assert_ne!`.
    ExplicitPanic,
}

/// Which arithmetic operation overflowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverflowOp {
    /// `+` / `+=`.
    Add,
    /// `-` / `-=`.
    Sub,
    /// `*` / `*=`.
    Mul,
    /// `/` / `/=` (`MIN / -1`).
    Div,
    /// Unary `-` (`-MIN`).
    Neg,
    /// `<<` / `<<=` by at least the type's bit width.
    Shl,
    /// `>>` / `>>=` by at least the type's bit width.
    Shr,
}

impl OverflowOp {
    /// The method suffix (`add`, `sub`, ...).
    pub(crate) fn name(self) -> &'static str {
        match self {
            OverflowOp::Add => "add",
            OverflowOp::Sub => "sub",
            OverflowOp::Mul => "mul",
            OverflowOp::Div => "div",
            OverflowOp::Neg => "neg",
            OverflowOp::Shl => "shl",
            OverflowOp::Shr => "shr",
        }
    }
}

impl PanicClass {
    /// The class's name in patches and reports (`unwrap-none`, ...).
    pub fn name(self) -> &'static str {
        match self {
            PanicClass::UnwrapNone => "unwrap-none",
            PanicClass::UnwrapErr => "unwrap-err",
            PanicClass::ParseUnwrap => "parse-unwrap",
            PanicClass::IndexOob => "index-oob",
            PanicClass::SliceRange => "slice-range",
            PanicClass::MissingKey => "missing-key",
            PanicClass::VecPosition => "vec-position",
            PanicClass::DivZero => "div-zero",
            PanicClass::RemZero => "rem-zero",
            PanicClass::Overflow(_) => "overflow",
            PanicClass::CharBoundary => "char-boundary",
            PanicClass::ExplicitPanic => "explicit-panic",
        }
    }

    /// The class a panic message names, when it names one. `expect()` with a
    /// custom message names none: the syntax at the location decides then.
    pub fn from_message(message: &str) -> Option<PanicClass> {
        let m = message.trim();
        let class = if m.starts_with("called `Option::unwrap()` on a `None` value") {
            PanicClass::UnwrapNone
        } else if m.starts_with("called `Result::unwrap()` on an `Err` value") {
            PanicClass::UnwrapErr
        } else if m.starts_with("index out of bounds: the len is") {
            PanicClass::IndexOob
        } else if m.contains("is not a char boundary") {
            PanicClass::CharBoundary
        } else if (m.starts_with("range end index") || m.starts_with("range start index"))
            && m.contains("out of range for slice of length")
            || m.starts_with("slice index starts at")
            || ((m.starts_with("byte index") || m.starts_with("start byte index") || m.starts_with("end byte index"))
                && m.contains("is out of bounds of"))
            || (m.starts_with("begin <= end") && m.contains("when slicing"))
        {
            PanicClass::SliceRange
        } else if m.starts_with("internal error: entered unreachable code")
            || m.starts_with("assertion failed: ")
            || m.starts_with("assertion `left == right` failed")
            || m.starts_with("assertion `left != right` failed")
        {
            PanicClass::ExplicitPanic
        } else if m.starts_with("no entry found for key") {
            PanicClass::MissingKey
        } else if (m.starts_with("removal index") || m.starts_with("swap_remove index"))
            && m.contains("should be < len")
            || m.starts_with("insertion index") && m.contains("should be <= len")
        {
            PanicClass::VecPosition
        } else if m.starts_with("attempt to divide by zero") {
            PanicClass::DivZero
        } else if m.starts_with("attempt to calculate the remainder with a divisor of zero") {
            PanicClass::RemZero
        } else if m.starts_with("attempt to add with overflow") || m.starts_with("overflow when adding duration") {
            PanicClass::Overflow(OverflowOp::Add)
        } else if m.starts_with("attempt to subtract with overflow")
            || m.starts_with("overflow when subtracting duration")
        {
            PanicClass::Overflow(OverflowOp::Sub)
        } else if m.starts_with("attempt to multiply with overflow")
            || m.starts_with("overflow when multiplying duration")
        {
            PanicClass::Overflow(OverflowOp::Mul)
        } else if m.starts_with("attempt to divide with overflow") {
            PanicClass::Overflow(OverflowOp::Div)
        } else if m.starts_with("attempt to negate with overflow") {
            PanicClass::Overflow(OverflowOp::Neg)
        } else if m.starts_with("attempt to shift left with overflow") {
            PanicClass::Overflow(OverflowOp::Shl)
        } else if m.starts_with("attempt to shift right with overflow") {
            PanicClass::Overflow(OverflowOp::Shr)
        } else {
            return None;
        };
        Some(class)
    }

    /// Whether the fix is about a value that may be missing (`unwrap`-like).
    pub(crate) fn is_unwrap(self) -> bool {
        matches!(
            self,
            PanicClass::UnwrapNone | PanicClass::UnwrapErr | PanicClass::ParseUnwrap
        )
    }

    /// Whether the fix is about an index or a range into a collection.
    pub(crate) fn is_index(self) -> bool {
        matches!(
            self,
            PanicClass::IndexOob | PanicClass::SliceRange | PanicClass::CharBoundary | PanicClass::MissingKey
        )
    }
}

impl fmt::Display for PanicClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_map_to_classes() {
        let cases = [
            ("called `Option::unwrap()` on a `None` value", Some("unwrap-none")),
            (
                "called `Result::unwrap()` on an `Err` value: ParseIntError { kind: InvalidDigit }",
                Some("unwrap-err"),
            ),
            (
                "index out of bounds: the len is 7 but the index is 7",
                Some("index-oob"),
            ),
            (
                "range end index 100 out of range for slice of length 89",
                Some("slice-range"),
            ),
            ("slice index starts at 4 but ends at 2", Some("slice-range")),
            ("byte index 9 is out of bounds of `abc`", Some("slice-range")),
            // Since Rust 1.80 or so the bound is named.
            ("end byte index 5 is out of bounds of `ab`", Some("slice-range")),
            ("start byte index 7 is out of bounds of `ab`", Some("slice-range")),
            ("no entry found for key", Some("missing-key")),
            ("removal index (is 3) should be < len (is 1)", Some("vec-position")),
            ("swap_remove index (is 3) should be < len (is 1)", Some("vec-position")),
            ("insertion index (is 3) should be <= len (is 1)", Some("vec-position")),
            ("overflow when subtracting durations", Some("overflow")),
            ("overflow when adding durations", Some("overflow")),
            ("overflow when multiplying duration by scalar", Some("overflow")),
            (
                "byte index 1 is not a char boundary; it is inside 'é' (bytes 0..2) of `é`",
                Some("char-boundary"),
            ),
            ("attempt to divide by zero", Some("div-zero")),
            (
                "attempt to calculate the remainder with a divisor of zero",
                Some("rem-zero"),
            ),
            ("attempt to subtract with overflow", Some("overflow")),
            ("attempt to add with overflow", Some("overflow")),
            ("attempt to multiply with overflow", Some("overflow")),
            ("attempt to negate with overflow", Some("overflow")),
            ("attempt to shift left with overflow", Some("overflow")),
            ("attempt to shift right with overflow", Some("overflow")),
            (
                "internal error: entered unreachable code: state",
                Some("explicit-panic"),
            ),
            ("assertion failed: n > 0", Some("explicit-panic")),
            (
                "assertion `left == right` failed\n  left: 1\n right: 2",
                Some("explicit-panic"),
            ),
            ("config file missing", None),
            ("", None),
        ];
        for (m, want) in cases {
            assert_eq!(PanicClass::from_message(m).map(PanicClass::name), want, "{m}");
        }
    }
}
