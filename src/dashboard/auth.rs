//! Who may see the dashboard: the dashboard token, signed in for a session
//! cookie or sent as `Authorization: Bearer`; sessions with their CSRF token.
//!
//! Tokens are compared in constant time ([`crate::collector::token_matches`]
//! and [`subtle`]). Sessions live in memory (a restart signs everyone out),
//! expire after [`SESSION_TTL`], and at most [`MAX_SESSIONS`] are kept (the
//! oldest goes first).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::{pages, DashboardError, DashboardState};
use crate::collector::{generate_token, token_matches};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "bugstack_session";

/// How long a session lasts after sign-in.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Most sessions kept at once.
pub const MAX_SESSIONS: usize = 1024;

/// One signed-in browser.
#[derive(Debug, Clone)]
struct Session {
    /// The token every form of this session carries.
    csrf: String,
    /// When it signed in.
    created: Instant,
}

/// The signed-in sessions, by their (random, 256-bit) id.
#[derive(Debug, Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.by_id.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A new session: its id (the cookie's value) and its CSRF token.
    pub fn create(&self) -> Result<(String, String), DashboardError> {
        let id = generate_token().map_err(|e| DashboardError::Store(e.to_string()))?;
        let csrf = generate_token().map_err(|e| DashboardError::Store(e.to_string()))?;
        let mut map = self.lock();
        map.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        while map.len() >= MAX_SESSIONS {
            let Some(oldest) = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| k.clone()) else {
                break;
            };
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                created: Instant::now(),
            },
        );
        Ok((id, csrf))
    }

    /// The CSRF token of live session `id`.
    pub fn csrf_of(&self, id: &str) -> Option<String> {
        let mut map = self.lock();
        match map.get(id) {
            Some(s) if s.created.elapsed() < SESSION_TTL => Some(s.csrf.clone()),
            Some(_) => {
                map.remove(id);
                None
            }
            None => None,
        }
    }

    /// Ends session `id`.
    pub fn remove(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// Who is looking.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    /// The session's CSRF token (`None`: a bearer-token client, which a
    /// browser never sends on its own, so it needs none).
    pub(crate) csrf: Option<String>,
    /// The session id, when signed in with a cookie.
    pub(crate) session: Option<String>,
}

/// How a request without access is answered.
pub(crate) enum Denied {
    /// No credential: to the sign-in page.
    SignIn(String),
    /// A wrong credential.
    Error(DashboardError),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::SignIn(next) => Redirect::to(&format!("/signin?next={}", percent_encode(&next))).into_response(),
            Denied::Error(e) => e.into_response(),
        }
    }
}

/// The value of cookie `name` in the request's `Cookie` headers.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// Whether the request may see the dashboard: a bearer dashboard token, or
/// a live session cookie. The ingest token is refused (`403`); no
/// credential sends the browser to sign in, back to `uri` after.
pub(crate) fn viewer(state: &DashboardState, headers: &HeaderMap, uri: &Uri) -> Result<Viewer, Denied> {
    if let Some(auth) = headers.get(header::AUTHORIZATION) {
        let auth = auth.to_str().unwrap_or_default();
        if token_matches(auth, &state.token) {
            return Ok(Viewer {
                csrf: None,
                session: None,
            });
        }
        if token_matches(auth, &state.ingest_token) {
            return Err(Denied::Error(DashboardError::IngestToken));
        }
        return Err(Denied::Error(DashboardError::Unauthorized));
    }
    if let Some(id) = cookie(headers, SESSION_COOKIE) {
        if let Some(csrf) = state.sessions.csrf_of(id) {
            return Ok(Viewer {
                csrf: Some(csrf),
                session: Some(id.to_string()),
            });
        }
    }
    let next = uri.path_and_query().map_or("/", |p| p.as_str()).to_string();
    Err(Denied::SignIn(next))
}

/// Checks a form's CSRF token against the viewer's session (constant time).
/// A bearer client needs none.
fn check_csrf(viewer: &Viewer, presented: Option<&str>) -> Result<(), DashboardError> {
    match (&viewer.csrf, presented) {
        (None, _) => Ok(()),
        (Some(expected), Some(got)) if bool::from(got.as_bytes().ct_eq(expected.as_bytes())) => Ok(()),
        _ => Err(DashboardError::Csrf),
    }
}

/// A form that carries the session's CSRF token.
pub(crate) trait CsrfToken {
    /// The token the form presents, if any.
    fn csrf(&self) -> Option<&str>;
}

/// A handler's POST form `F`, taken only when its CSRF token is the
/// viewer's session's ([`check_csrf`]): the viewer and the form, else the
/// viewer's [`Denied`], the form's rejection or [`DashboardError::Csrf`] is
/// the answer before the handler runs.
pub(crate) struct CheckedForm<F> {
    /// Who sent the form.
    pub(crate) viewer: Viewer,
    /// The form.
    pub(crate) form: F,
}

impl<F> FromRequest<DashboardState> for CheckedForm<F>
where
    F: DeserializeOwned + CsrfToken + Send,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &DashboardState) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Form(form) = Form::<F>::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        check_csrf(&viewer, form.csrf()).map_err(IntoResponse::into_response)?;
        Ok(CheckedForm { viewer, form })
    }
}

/// A handler's `viewer: Viewer` argument: the request's [`viewer`], or its
/// [`Denied`] answer before the handler runs.
impl FromRequestParts<DashboardState> for Viewer {
    type Rejection = Denied;

    async fn from_request_parts(parts: &mut Parts, state: &DashboardState) -> Result<Self, Denied> {
        viewer(state, &parts.headers, &parts.uri)
    }
}

/// Where to go after signing in: a path on this site only (never
/// `//host` or a full URL: no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') && !n.starts_with("/signin") => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

/// `s` with everything but unreserved characters and `/` percent-encoded.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?next=` of the sign-in page.
#[derive(Debug, Deserialize)]
pub(crate) struct NextParam {
    next: Option<String>,
}

/// `GET /signin`.
pub(crate) async fn signin_page(Query(q): Query<NextParam>) -> Response {
    pages::signin_page(&safe_next(q.next.as_deref()), None).into_response()
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub(crate) struct SignInForm {
    token: String,
    next: Option<String>,
}

/// `POST /signin`: the dashboard token for a session cookie.
pub(crate) async fn signin(State(state): State<DashboardState>, Form(form): Form<SignInForm>) -> Response {
    let next = safe_next(form.next.as_deref());
    let presented = form.token.trim();
    if !bool::from(presented.as_bytes().ct_eq(state.token.as_bytes())) {
        let why = if bool::from(presented.as_bytes().ct_eq(state.ingest_token.as_bytes())) {
            "That is the SDK's ingest token: it can send events but not read them. Use the dashboard token."
        } else {
            "That token is not accepted. Use the dashboard token `bugstack serve` printed (BUGSTACK_DASHBOARD_TOKEN)."
        };
        return (StatusCode::UNAUTHORIZED, pages::signin_page(&next, Some(why))).into_response();
    }
    let (id, _csrf) = match state.sessions.create() {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    let mut cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        SESSION_TTL.as_secs()
    );
    if state.secure_cookies {
        cookie.push_str("; Secure");
    }
    let mut res = Redirect::to(&next).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub(crate) struct CsrfForm {
    csrf: Option<String>,
}

impl CsrfToken for CsrfForm {
    fn csrf(&self) -> Option<&str> {
        self.csrf.as_deref()
    }
}

/// `POST /signout`: ends the session.
pub(crate) async fn signout(
    State(state): State<DashboardState>,
    CheckedForm { viewer, .. }: CheckedForm<CsrfForm>,
) -> Response {
    if let Some(id) = &viewer.session {
        state.sessions.remove(id);
    }
    let mut res = Redirect::to("/signin").into_response();
    let mut clear = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    if state.secure_cookies {
        clear.push_str("; Secure");
    }
    if let Ok(v) = HeaderValue::from_str(&clear) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/incidents/3?x=1")), "/incidents/3?x=1");
        for bad in [
            "//evil.example",
            "https://evil.example",
            "/\\evil",
            "javascript:alert(1)",
            "/signin",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn sessions_expire_and_are_bounded() {
        let s = Sessions::default();
        let (id, csrf) = s.create().unwrap();
        assert_eq!(s.csrf_of(&id), Some(csrf.clone()));
        let v = Viewer {
            csrf: Some(csrf.clone()),
            session: Some(id.clone()),
        };
        assert!(check_csrf(&v, Some(&csrf)).is_ok());
        assert!(check_csrf(&v, None).is_err());
        assert!(check_csrf(&v, Some("nope")).is_err());
        s.remove(&id);
        assert_eq!(s.csrf_of(&id), None);
        for _ in 0..MAX_SESSIONS + 5 {
            s.create().unwrap();
        }
        assert!(s.lock().len() <= MAX_SESSIONS);
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; bugstack_session=abc ; b=2"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
