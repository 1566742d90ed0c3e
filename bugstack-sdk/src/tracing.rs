//! `tracing` integration (feature `tracing`): a [`tracing_subscriber::Layer`]
//! that turns events at or above a level (default `ERROR`) into bugstack
//! events, with the fields of the spans they happened in as tags, and keeps
//! recent lower-level events (default `INFO` and up) as breadcrumbs in a
//! bounded ring.
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt;
//! let subscriber = tracing_subscriber::registry().with(bugstack_sdk::tracing::BugstackLayer::new());
//! tracing::subscriber::with_default(subscriber, || {
//!     let span = tracing::info_span!("checkout", order_id = 42);
//!     let _enter = span.enter();
//!     tracing::info!("cart loaded");               // a breadcrumb
//!     tracing::error!(code = 503, "payment down"); // an event, tags order_id and code
//! });
//! ```

use std::collections::BTreeMap;
use std::fmt;

use bugstack_core::{EventKind, Level};
use tracing::field::{Field, Visit};
use tracing::{span, Event as TracingEvent, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// Longest field value kept, in bytes.
const MAX_VALUE: usize = 1024;
/// Most tags per event.
const MAX_TAGS: usize = 64;

/// The layer; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct BugstackLayer {
    event_level: tracing::Level,
    breadcrumb_level: tracing::Level,
}

impl Default for BugstackLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl BugstackLayer {
    /// Events at `ERROR` become bugstack events; `INFO` and `WARN` become breadcrumbs.
    pub fn new() -> Self {
        BugstackLayer {
            event_level: tracing::Level::ERROR,
            breadcrumb_level: tracing::Level::INFO,
        }
    }

    /// Events at this level or more severe become bugstack events.
    ///
    /// ```
    /// let layer = bugstack_sdk::tracing::BugstackLayer::new().event_level(tracing::Level::WARN);
    /// # let _ = layer;
    /// ```
    pub fn event_level(mut self, level: tracing::Level) -> Self {
        self.event_level = level;
        self
    }

    /// Less severe events at this level or more severe become breadcrumbs.
    pub fn breadcrumb_level(mut self, level: tracing::Level) -> Self {
        self.breadcrumb_level = level;
        self
    }
}

fn map_level(level: &tracing::Level) -> Level {
    match *level {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warning,
        tracing::Level::INFO => Level::Info,
        tracing::Level::DEBUG => Level::Debug,
        _ => Level::Trace,
    }
}

/// Fields of a span, kept in its extensions.
#[derive(Default)]
struct SpanFields(BTreeMap<String, String>);

#[derive(Default)]
struct Collect {
    message: Option<String>,
    fields: BTreeMap<String, String>,
}

impl Collect {
    fn put(&mut self, field: &Field, value: String) {
        let value = bugstack_core::text::truncate_owned(value, MAX_VALUE);
        if field.name() == "message" {
            self.message = Some(value);
        } else if self.fields.len() < MAX_TAGS {
            self.fields.insert(field.name().to_string(), value);
        }
    }
}

impl Visit for Collect {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, bugstack_core::text::truncate(value, MAX_VALUE).to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let s = crate::capture::display_bounded(&format_args!("{value:?}"), MAX_VALUE);
        self.put(field, s);
    }
}

impl<S> Layer<S> for BugstackLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut c = Collect::default();
        attrs.record(&mut c);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(c.fields));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        let mut c = Collect::default();
        values.record(&mut c);
        if let Some(span) = ctx.span(id) {
            let mut ext = span.extensions_mut();
            match ext.get_mut::<SpanFields>() {
                Some(fields) => fields.0.extend(c.fields),
                None => ext.insert(SpanFields(c.fields)),
            }
        }
    }

    fn on_event(&self, event: &TracingEvent<'_>, ctx: Context<'_, S>) {
        if crate::worker::on_sdk_thread() {
            return;
        }
        let meta = event.metadata();
        let level = meta.level();
        let is_event = *level <= self.event_level;
        if !is_event && *level > self.breadcrumb_level {
            return;
        }
        let mut c = Collect::default();
        event.record(&mut c);
        let message = c.message.take().unwrap_or_else(|| meta.name().to_string());
        if !is_event {
            crate::add_breadcrumb(map_level(level), Some(meta.target()), &message);
            return;
        }
        let mut tags = BTreeMap::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    for (k, v) in &fields.0 {
                        if tags.len() < MAX_TAGS {
                            tags.insert(k.clone(), v.clone());
                        }
                    }
                }
            }
        }
        tags.extend(c.fields);
        tags.insert("target".into(), meta.target().to_string());
        let location = meta
            .file()
            .zip(meta.line())
            .map(|(file, line)| bugstack_core::Location {
                file: file.to_string(),
                line,
                column: None,
            });
        crate::capture_with_tags(EventKind::Tracing, map_level(level), message, tags, location);
    }
}
