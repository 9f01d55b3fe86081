//! One error type for the HTTP API, answered as `application/problem+json` (RFC 9457)
//! with a stable body; details for operators go to the log, written by the
//! [`log_failures`] layer with the request's method, path and status.

use crate::evidence::EvidenceError;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use workflow_core::{DomainError, RefusalKind};
use workflow_store::StoreError;

use super::answers::Problem;

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is not well formed.
    #[error("{0}")]
    BadRequest(String),
    /// 401: no token, or one we do not know.
    #[error("a valid bearer token is required")]
    Unauthenticated,
    /// 403: the role or agency may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409: a concurrent change.
    #[error("{0}")]
    Conflict(String),
    /// 409: the complaint's state does not allow the command; `rule` names why.
    #[error("{detail}")]
    StateConflict {
        /// The stable rule code.
        rule: String,
        /// Why.
        detail: String,
    },
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 405: the route exists, the method does not.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A refusal the framework made before any handler ran, with its status.
    #[error("{detail}")]
    Refused {
        /// Its status.
        status: StatusCode,
        /// Why.
        detail: String,
    },
    /// 503: more requests in flight than the host takes.
    #[error("too many requests in flight; retry shortly")]
    Overloaded,
    /// 422 with the rule's code.
    #[error("{detail}")]
    Rule {
        /// The stable rule code.
        rule: String,
        /// Why.
        detail: String,
    },
    /// 503: the database cannot be reached.
    #[error("the store is unavailable")]
    Unavailable(String),
    /// 500: a defect or corrupt data; the detail goes to the log only.
    #[error("internal error")]
    Internal(String),
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        let detail = e.to_string();
        match e.kind() {
            RefusalKind::NotFound => ApiError::NotFound(detail),
            RefusalKind::Forbidden => ApiError::Forbidden(detail),
            RefusalKind::StateConflict => ApiError::StateConflict {
                rule: e.rule().to_owned(),
                detail,
            },
            RefusalKind::RuleViolated => ApiError::Rule {
                rule: e.rule().to_owned(),
                detail,
            },
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Domain(d) => d.into(),
            StoreError::Conflict { .. } => ApiError::Conflict(e.to_string()),
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::BadCursor(_) | StoreError::Invalid(_) => {
                ApiError::BadRequest(e.to_string())
            }
            StoreError::Unavailable { reason, .. } => ApiError::Unavailable(reason),
            StoreError::Refused(refusal) => ApiError::Rule {
                rule: refusal.rule().to_owned(),
                detail: refusal.to_string(),
            },
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<EvidenceError> for ApiError {
    fn from(e: EvidenceError) -> Self {
        match e {
            EvidenceError::TooLarge { .. } => ApiError::TooLarge(e.to_string()),
            EvidenceError::Empty => ApiError::BadRequest(e.to_string()),
            EvidenceError::UnknownType | EvidenceError::TypeMismatch { .. } => {
                ApiError::UnsupportedMediaType(e.to_string())
            }
            EvidenceError::Io(io) => ApiError::Internal(io.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        match e {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType(
                "send the body as Content-Type: application/json".into(),
            ),
            JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("the body is larger than the limit".into())
            }
            other => ApiError::BadRequest(other.body_text()),
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl ApiError {
    pub(crate) fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::BadRequest(_) => {
                (StatusCode::BAD_REQUEST, "bad-request", "Malformed request")
            }
            ApiError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
            ),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Conflict(_) | ApiError::StateConflict { .. } => {
                (StatusCode::CONFLICT, "conflict", "Conflict")
            }
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Too large"),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::Refused { status, .. } => {
                let (kind, title) = match status.as_u16() {
                    400 => ("bad-request", "Malformed request"),
                    404 => ("not-found", "Not found"),
                    405 => ("method-not-allowed", "Method not allowed"),
                    408 => ("timeout", "Request timeout"),
                    413 => ("too-large", "Too large"),
                    415 => ("unsupported-media-type", "Unsupported media type"),
                    503 => ("unavailable", "Unavailable"),
                    _ if status.is_server_error() => ("internal", "Internal error"),
                    _ => ("refused", "Refused"),
                };
                (*status, kind, title)
            }
            ApiError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "overloaded", "Too busy"),
            ApiError::Rule { .. } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "rule",
                "Refused by an SOP rule",
            ),
            ApiError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Store unavailable",
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
        }
    }
}

/// Seconds a client is told to wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: &str = "2";

/// What an error answer carries for the log: the error's full text (for a 500 or 503
/// the problem's `detail` says less).
#[derive(Clone, Debug)]
pub struct Failure(pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        let failure = match &self {
            ApiError::Internal(detail) | ApiError::Unavailable(detail) => detail.clone(),
            _ => self.to_string(),
        };
        let body = match &self {
            ApiError::Rule { rule, .. } => Problem {
                kind: format!("urn:aduan:problem:rule:{rule}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: self.to_string(),
                rule: Some(rule.clone()),
                request_id: super::request_id::current(),
            },
            ApiError::StateConflict { rule, .. } => Problem {
                kind: format!("urn:aduan:problem:{kind}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: self.to_string(),
                rule: Some(rule.clone()),
                request_id: super::request_id::current(),
            },
            _ => Problem {
                kind: format!("urn:aduan:problem:{kind}"),
                title: title.to_owned(),
                status: status.as_u16(),
                detail: self.to_string(),
                rule: None,
                request_id: super::request_id::current(),
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        response.extensions_mut().insert(Failure(failure));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750: say which scheme the API wants.
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Bearer realm=\"aduan\""),
            );
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // The database is busy, full, failing or restarting: the same request,
            // with the same Idempotency-Key, is safe to send again.
            response.headers_mut().insert(
                header::RETRY_AFTER,
                header::HeaderValue::from_static(RETRY_AFTER_SECONDS),
            );
        }
        response
    }
}

/// Turns every error answer that is not JSON into a problem with the same status and
/// headers: the framework's own refusals (a body over the limit, a method the route
/// lacks, a path that does not decode) never reach a handler's `ApiError`. JSON answers
/// are the handlers' own (problems, and the readiness report's 503).
pub async fn problems_only(response: Response) -> Response {
    let status = response.status();
    // JSON is an answer of ours already; HTML is a console page that says what went
    // wrong to a person, next to the form.
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| {
            let v = v.as_bytes();
            v.starts_with(b"application/problem+json")
                || v.starts_with(b"application/json")
                || v.starts_with(b"text/html")
        });
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let detail = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "the body is larger than this route accepts".to_owned(),
        StatusCode::METHOD_NOT_ALLOWED => "this route does not take that method".to_owned(),
        StatusCode::NOT_FOUND if text.is_empty() => "no such route".to_owned(),
        _ if text.is_empty() => status.canonical_reason().unwrap_or("refused").to_owned(),
        _ => text,
    };
    let mut problem = match status {
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed(detail),
        _ => ApiError::Refused { status, detail },
    }
    .into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            problem.headers_mut().insert(name.clone(), value.clone());
        }
    }
    problem
}

/// Logs an error answer: server errors as errors with the detail kept from the client,
/// refusals at debug level.
pub fn log_failure(method: &axum::http::Method, path: &str, response: &Response) {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return;
    }
    let detail = response
        .extensions()
        .get::<Failure>()
        .map(|f| f.0.as_str())
        .unwrap_or("");
    let request_id = super::request_id::current().unwrap_or_default();
    if status.is_server_error() {
        tracing::error!(%method, %path, status = status.as_u16(), %detail, %request_id, "request failed");
    } else {
        tracing::debug!(%method, %path, status = status.as_u16(), %detail, %request_id, "request refused");
    }
}

/// The layer that logs every error answer of the router, whoever made it.
pub async fn log_failures(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    log_failure(&method, &path, &response);
    response
}
