//! One error type for the HTTP API, answered as `application/problem+json` (RFC 9457)
//! with a stable body; details for operators go to the log.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use workflow_core::{DomainError, RefusalKind};
use workflow_store::evidence::EvidenceError;
use workflow_store::StoreError;

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
    /// 413.
    #[error("{0}")]
    TooLarge(String),
    /// 415.
    #[error("{0}")]
    UnsupportedMediaType(String),
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
            RefusalKind::StateConflict => ApiError::Conflict(detail),
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
            StoreError::BadCursor(_) => ApiError::BadRequest(e.to_string()),
            StoreError::Unavailable(m) => ApiError::Unavailable(m),
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
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
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
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Too large"),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
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

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, kind, title) = self.parts();
        match &self {
            ApiError::Internal(detail) | ApiError::Unavailable(detail) => {
                tracing::error!(status = status.as_u16(), %detail, "request failed");
            }
            _ => tracing::debug!(status = status.as_u16(), detail = %self, "request refused"),
        }
        let mut body = json!({
            "type": format!("urn:aduan:problem:{kind}"),
            "title": title,
            "status": status.as_u16(),
            "detail": self.to_string(),
        });
        if let ApiError::Rule { rule, .. } = &self {
            body["rule"] = json!(rule);
            body["type"] = json!(format!("urn:aduan:problem:rule:{rule}"));
        }
        let mut response = (status, axum::Json(body)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/problem+json"),
        );
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
