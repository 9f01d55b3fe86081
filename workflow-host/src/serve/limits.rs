//! What one client may hold of the server: the time to send its headers and its body,
//! a connection among a capped number, a request among a capped number in flight.
//! Slow or many clients are cut off; the rest keep being served.
//!
//! Contact points: `serve` (the accept loop uses [`Limits::connection_cap`] and the
//! header read timeout; the router gets [`Limits::layer`]), the error type (408, 503).

use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::StreamExt;
use tower::ServiceBuilder;

use crate::http::error::ApiError;

/// Files the process keeps open besides connections: the database, its journal, the
/// evidence being written, the runtime's own.
const FILES_BESIDES_CONNECTIONS: u64 = 64;

/// The limits of `aduan serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A request's line and headers must arrive within this; an idle kept-alive
    /// connection is closed after it too.
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this of the handler starting to read it
    /// (408 otherwise).
    pub body_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// Requests handled at once; more are answered 503 with `Retry-After`.
    pub max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            max_connections: 1024,
            max_in_flight: 256,
        }
    }
}

impl Limits {
    /// The connection cap in force: the configured one, but never so many that
    /// connections would use up the process's open files (then accepting fails and
    /// nobody is served).
    pub fn connection_cap(&self) -> usize {
        let files = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        cap_for_open_files(self.max_connections, files)
    }

    /// The body deadline and the in-flight cap, as layers of the router.
    pub fn layer(&self, router: Router) -> Router {
        let body_timeout = self.body_timeout;
        router
            .layer(axum::middleware::from_fn(move |request, next| {
                body_deadline(body_timeout, request, next)
            }))
            .layer(
                ServiceBuilder::new()
                    .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                        Ok::<_, Infallible>(ApiError::Overloaded.into_response())
                    }))
                    .load_shed()
                    // One count for the whole router: axum layers every route on its
                    // own, and a plain concurrency limit would count per route.
                    .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                        self.max_in_flight.max(1),
                    )),
            )
    }
}

/// `wanted`, less than the open-file limit by what the process needs besides.
fn cap_for_open_files(wanted: usize, open_files: Option<u64>) -> usize {
    let room = open_files
        .map(|n| n.saturating_sub(FILES_BESIDES_CONNECTIONS).max(1))
        .and_then(|n| usize::try_from(n).ok())
        .unwrap_or(usize::MAX);
    wanted.min(room).max(1)
}

/// Why a body stopped arriving.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimedOut;

/// Gives the handler a body that fails once `limit` has passed, and answers 408 when
/// it did. tower-http's body timeout restarts with every chunk, so a client sending
/// a byte now and then would never be cut off; this deadline covers the whole body.
async fn body_deadline(limit: Duration, request: Request, next: Next) -> Response {
    let deadline = tokio::time::Instant::now() + limit;
    let timed_out = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let flag = Arc::clone(&timed_out);
    let chunks = futures::stream::unfold(Some(body.into_data_stream()), move |rest| {
        let flag = Arc::clone(&flag);
        async move {
            let mut stream = rest?;
            match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(chunk)) => Some((chunk, Some(stream))),
                Ok(None) => None,
                Err(_) => {
                    flag.store(true, Ordering::SeqCst);
                    Some((Err(axum::Error::new(BodyTimedOut)), None))
                }
            }
        }
    });
    let response = next
        .run(Request::from_parts(parts, Body::from_stream(chunks)))
        .await;
    if !timed_out.load(Ordering::SeqCst) {
        return response;
    }
    let mut response = ApiError::Refused {
        status: StatusCode::REQUEST_TIMEOUT,
        detail: format!(
            "the request body did not arrive within {} s",
            limit.as_secs_f64()
        ),
    }
    .into_response();
    // The rest of the body may still come: do not read it as the next request.
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_cap_leaves_room_for_the_files_the_process_needs() {
        assert_eq!(cap_for_open_files(1024, Some(256)), 192);
        assert_eq!(cap_for_open_files(1024, Some(65536)), 1024);
        assert_eq!(cap_for_open_files(1024, None), 1024);
        assert_eq!(cap_for_open_files(1024, Some(10)), 1);
        assert_eq!(cap_for_open_files(0, Some(256)), 1);
    }
}
