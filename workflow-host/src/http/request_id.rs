//! Request ids: every request gets one (the caller's `X-Request-Id` when it is a sane
//! token, else a fresh random one), echoed in the answer's `X-Request-Id`, written in
//! every log line about the request and in every problem body, so that an operator can
//! find the log lines of the answer a user reports.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

/// The header that carries it, both ways.
pub const HEADER: &str = "x-request-id";

tokio::task_local! {
    static CURRENT: RequestId;
}

/// A request's id, in its extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestId(pub String);

/// The id of the request being answered, if any (in the task answering it).
pub fn current() -> Option<String> {
    CURRENT.try_with(|id| id.0.clone()).ok()
}

/// A caller's id is kept when it is 1 to 64 letters, digits, `-`, `_` or `.`: anything
/// else (a log-injection attempt, an overlong value) is replaced.
fn acceptable(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn fresh() -> String {
    let mut bytes = [0u8; 12];
    // Without randomness, the time still tells requests apart well enough for logs.
    if getrandom::getrandom(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    workflow_store::chain::hex(&bytes)
}

/// The layer: gives the request its id (once: an outer layer's id is kept), answers
/// within its scope, and echoes it.
pub async fn request_id(mut request: Request, next: Next) -> Response {
    let id = match request.extensions().get::<RequestId>() {
        Some(id) => id.clone(),
        None => RequestId(
            request
                .headers()
                .get(HEADER)
                .and_then(|v| v.to_str().ok())
                .filter(|v| acceptable(v))
                .map_or_else(fresh, str::to_owned),
        ),
    };
    request.extensions_mut().insert(id.clone());
    let mut response = CURRENT.scope(id.clone(), next.run(request)).await;
    if let Ok(value) = HeaderValue::from_str(&id.0) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sane_ids_are_kept() {
        assert!(acceptable("req-2026.11_29"));
        assert!(!acceptable(""));
        assert!(!acceptable("a b"));
        assert!(!acceptable("x\ninjected=1"));
        assert!(!acceptable(&"a".repeat(65)));
        assert_eq!(fresh().len(), 24);
        assert_ne!(fresh(), fresh());
    }
}
