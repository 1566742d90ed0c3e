//! Hard bounds on what one decoded event may hold (see the table in
//! `docs/wire-format.md`).
//!
//! Every repeated or unbounded part of the event model is capped *while it is
//! deserialized*: an element past its cap is skipped without being built, so
//! a tiny gzip body of a million `{}` frames costs the cap, not a million
//! frames. Past a cap, a field is either **cut** (the kept part is what an
//! investigation needs and the event stays useful; the cut is noted) or
//! **rejected** (the field decides grouping, so cutting it would silently
//! merge different groups, or no legitimate sender produces that much):
//!
//! | part | cap | past the cap |
//! |---|---|---|
//! | `frames` | [`MAX_FRAMES`] | cut: the innermost kept, the rest counted in [`Omitted::frames`](crate::event::Omitted) |
//! | `chain` | [`MAX_CHAIN`] | cut: the outermost kept, counted in `Omitted::chain` |
//! | `breadcrumbs` | [`MAX_BREADCRUMBS`] | cut: the newest kept, counted in `Omitted::breadcrumbs` |
//! | `tags` | [`MAX_TAGS`] | cut: the first kept, counted in `Omitted::tags` |
//! | `request.headers` | [`MAX_HEADERS`] | rejected |
//! | `fingerprint_parts` | [`MAX_FINGERPRINT_PARTS`] parts of [`MAX_FINGERPRINT_PART_BYTES`] | rejected |
//! | `fingerprint` | 64 lowercase hex digits | rejected |
//! | messages | [`MAX_MESSAGE_BYTES`] | cut, ends with `…` |
//! | other strings | [`MAX_FIELD_BYTES`] | cut, ends with `…` |
//! | `payload_shape` | [`ShapeLimits::default`](crate::ShapeLimits) | cut: deeper levels become `truncated`, extra keys counted in `omitted_keys`, long keys cut |
//! | JSON nesting | 128 levels (`serde_json`'s limit) | rejected |
//! | `release.dependencies` | [`MAX_DEPENDENCIES`] | cut: the first kept, counted in `omitted_dependencies` |
//! | dependency names and versions | [`MAX_DEPENDENCY_FIELD_BYTES`] | cut, ends with `…` |

/// Most stack frames kept per event (the SDK's own upper bound).
pub const MAX_FRAMES: usize = 256;

/// Most error-chain links kept per event.
pub const MAX_CHAIN: usize = 32;

/// Most breadcrumbs kept per event.
pub const MAX_BREADCRUMBS: usize = 100;

/// Most tags kept per event.
pub const MAX_TAGS: usize = 128;

/// Most request headers accepted per event.
pub const MAX_HEADERS: usize = 100;

/// Most `fingerprint_parts` accepted per event.
pub const MAX_FINGERPRINT_PARTS: usize = 16;

/// Longest accepted fingerprint part, in bytes.
pub const MAX_FINGERPRINT_PART_BYTES: usize = 256;

/// Longest message (event, chain link, breadcrumb) kept, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// Longest other string (names, paths, tag and header values, ...) kept, in bytes.
pub const MAX_FIELD_BYTES: usize = 2 * 1024;

/// Most dependencies kept in one release announcement (a large workspace
/// resolves about 1,000 packages).
pub const MAX_DEPENDENCIES: usize = 4096;

/// Longest dependency name or version kept, in bytes.
pub const MAX_DEPENDENCY_FIELD_BYTES: usize = 128;

/// What marks a string cut by the decoder.
pub const CUT_MARKER: &str = "…";
