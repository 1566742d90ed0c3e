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

thread_local! {
    static THREAD_REQUEST: RefCell<Option<Arc<RequestContext>>> = const { RefCell::new(None) };
}

#[cfg(feature = "tower")]
tokio::task_local! {
    pub(crate) static TASK_REQUEST: Arc<RequestContext>;
}

/// The request context in scope on this task or thread, if any.
pub fn current_request() -> Option<Arc<RequestContext>> {
    #[cfg(feature = "tower")]
    if let Ok(ctx) = TASK_REQUEST.try_with(Arc::clone) {
        return Some(ctx);
    }
    THREAD_REQUEST
        .try_with(|c| c.try_borrow().ok().and_then(|c| c.clone()))
        .ok()
        .flatten()
}

struct Restore(Option<Arc<RequestContext>>);

impl Drop for Restore {
    fn drop(&mut self) {
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
/// carry it. The previous context is restored afterwards, even on panic.
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
    let _restore = Restore(prev);
    f()
}
