//! The `inventory` crate the pipeline tests heal, in one place for both test
//! suites: bugstack-fix's (`end_to_end`) and the `bugstack` crate's, whose
//! `tests/common/inventory.rs` includes this file. Its source has a latent
//! divide-by-zero; [`panic_event`] is that panic as the SDK reports it.

use bugstack_core::{Event, EventKind, Frame, Level, Location, Timestamp};

/// The crate's `src/lib.rs`.
pub(crate) const LIB: &str = "//! Stock arithmetic.

/// How many times the stock on hand covers what was sold (`None` if nothing was).
pub fn restock_ratio(on_hand: u32, sold: u32) -> Option<u32> {
    Some(on_hand / sold)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_of_stock_to_sales() {
        assert_eq!(restock_ratio(10, 2), Some(5));
    }
}
";

/// The line of [`LIB`] that panics.
pub(crate) const PANIC_LINE: u32 = 5;

/// The panic in `release` at `at`, as the SDK reports it.
pub(crate) fn panic_event(release: &str, at: Timestamp) -> Event {
    let mut e = Event::new(EventKind::Panic, Level::Fatal, "attempt to divide by zero", at);
    e.release = Some(release.to_string());
    e.location = Some(Location {
        file: "src/lib.rs".into(),
        line: PANIC_LINE,
        column: Some(10),
    });
    e.frames = vec![
        Frame {
            function: Some("inventory::restock_ratio".into()),
            module: Some("inventory".into()),
            file: Some("/build/inventory/src/lib.rs".into()),
            line: Some(PANIC_LINE),
            column: Some(10),
            in_app: true,
            address: None,
        },
        Frame {
            function: Some("core::panicking::panic_const::panic_const_div_by_zero".into()),
            file: Some("/rustc/abc/library/core/src/panicking.rs".into()),
            line: Some(175),
            ..Frame::default()
        },
    ];
    e
}
