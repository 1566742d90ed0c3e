//! Request context: the request being handled on the current task or
//! thread, attached to every event captured while it is set. (Not the code
//! context the fix engine builds.)
//!
//! The [`tower`](crate::tower) layer sets it for async handlers with a tokio
//! task-local (so it follows the request's future across `.await` points and
//! worker threads); synchronous code can use [`with_request`].

use std::cell::RefCell;
use std::sync::Arc;

use bugstack_core::RequestContext;

pub(crate) use crate::request_source::RequestSource;
use crate::ring::{swap_thread_ring, Ring};

thread_local! {
    static THREAD_REQUEST: RefCell<Option<Arc<RequestContext>>> = const { RefCell::new(None) };
}

/// What the tower layer scopes a request's future with: the parts of the
/// request it kept (inline: no allocation per request) and its breadcrumbs.
#[cfg(feature = "tower")]
pub(crate) struct TaskScope {
    pub(crate) request: crate::request_source::HttpRequest,
    pub(crate) crumbs: RefCell<Ring>,
}

#[cfg(feature = "tower")]
impl TaskScope {
    pub(crate) fn new(request: crate::request_source::HttpRequest) -> Self {
        TaskScope {
            request,
            crumbs: RefCell::new(Ring::new()),
        }
    }
}

#[cfg(feature = "tower")]
tokio::task_local! {
    pub(crate) static TASK_SCOPE: TaskScope;
}

/// Runs `f` on the current request task's breadcrumb ring; `None` outside
/// a task scope (or when the ring is in use further up this call).
#[cfg(feature = "tower")]
pub(crate) fn with_task_ring<R>(f: impl FnOnce(&mut Ring) -> R) -> Option<R> {
    TASK_SCOPE
        .try_with(|scope| scope.crumbs.try_borrow_mut().ok().map(|mut ring| f(&mut ring)))
        .ok()
        .flatten()
}

/// The request context in scope on this task or thread, if any (built
/// on each call from what the tower layer kept).
pub fn current_request() -> Option<Arc<RequestContext>> {
    #[cfg(feature = "tower")]
    if let Ok(ctx) = TASK_SCOPE.try_with(|s| s.request.context()) {
        return Some(Arc::new(ctx));
    }
    thread_request()
}

fn thread_request() -> Option<Arc<RequestContext>> {
    THREAD_REQUEST
        .try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()
}

/// The request in scope, unbuilt (the capture path: cheap clones of the
/// kept parts, handed to the worker, which builds the strings).
pub(crate) fn current_source() -> Option<Arc<dyn RequestSource>> {
    #[cfg(feature = "tower")]
    if let Ok(source) = TASK_SCOPE.try_with(|s| Arc::new(s.request.clone()) as Arc<dyn RequestSource>) {
        return Some(source);
    }
    thread_request().map(|r| r as Arc<dyn RequestSource>)
}

struct Restore(Option<Arc<RequestContext>>, Ring);

impl Drop for Restore {
    fn drop(&mut self) {
        swap_thread_ring(&mut self.1);
        let prev = self.0.take();
        let _ = THREAD_REQUEST.try_with(|c| {
            if let Ok(mut c) = c.try_borrow_mut() {
                *c = prev;
            }
        });
    }
}

/// Runs `f` with `ctx` as the current request on this thread (synchronous
/// code; async code should use the tower layer). Events captured inside
/// carry it, and the breadcrumbs recorded inside (and only those). The
/// previous context and breadcrumbs are restored afterwards, even on panic.
///
/// ```
/// use bugstack_sdk::RequestContext;
/// let ctx = RequestContext { method: Some("GET".into()), route: Some("/carts/{id}".into()), ..Default::default() };
/// let route = bugstack_sdk::with_request(ctx, || {
///     bugstack_sdk::current_request().and_then(|r| r.route.clone())
/// });
/// assert_eq!(route.as_deref(), Some("/carts/{id}"));
/// assert!(bugstack_sdk::current_request().is_none());
/// ```
pub fn with_request<R>(ctx: RequestContext, f: impl FnOnce() -> R) -> R {
    let prev = THREAD_REQUEST
        .try_with(|c| c.try_borrow_mut().ok().map(|mut c| c.replace(Arc::new(ctx))))
        .ok()
        .flatten()
        .flatten();
    let mut outer_crumbs = Ring::new();
    swap_thread_ring(&mut outer_crumbs);
    let _restore = Restore(prev, outer_crumbs);
    f()
}
