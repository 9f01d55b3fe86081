//! Evidence: photos and scans uploaded as raw bytes, named by their SHA-256, and handed
//! out again with the type read from the bytes. The blob store reads and writes files:
//! that is done off the async threads.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use workflow_core::Role;

use super::answers::{EvidenceAnswer, Upload};
use super::caller::{require_role, Caller};
use super::error::ApiError;
use super::{headers, AppState};

/// Runs a blob store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Upload a photo or scan as raw bytes: JPEG, PNG, WebP, GIF or PDF (liaison, upp).
#[utoipa::path(post, path = "/api/v1/evidence", tag = "evidence",
    request_body(content = Upload, content_type = "application/octet-stream",
        description = "The file's bytes. Send its own type (image/jpeg, image/png, image/webp, image/gif, application/pdf) or application/octet-stream: the type is read from the bytes, and a declared type that disagrees is refused (415)."),
    responses((status = 201, body = EvidenceAnswer), (status = 400), (status = 401), (status = 403), (status = 413), (status = 415), (status = 503)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_role(&caller, &[Role::Liaison, Role::Upp], "upload evidence")?;
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let evidence = state.evidence.clone();
    let blob = blocking(move || Ok(evidence.put(&body, declared.as_deref())?)).await?;
    let answer = EvidenceAnswer {
        sha256: blob.sha256,
        size: blob.size,
        media_type: blob.media_type.to_owned(),
    };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The `{sha256}` of an evidence path.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct EvidencePath {
    /// The SHA-256 the upload returned, lower-case hex.
    pub sha256: String,
}

/// Download an uploaded photo or scan (any role).
#[utoipa::path(get, path = "/api/v1/evidence/{sha256}", tag = "evidence", params(EvidencePath),
    responses((status = 200, description = "The bytes, with the type read from them",
               content((Upload = "image/jpeg"), (Upload = "image/png"), (Upload = "image/webp"),
                       (Upload = "image/gif"), (Upload = "application/pdf"))),
              (status = 400), (status = 401), (status = 404), (status = 503)),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<AppState>,
    Caller(_caller): Caller,
    Path(EvidencePath { sha256 }): Path<EvidencePath>,
) -> Result<Response, ApiError> {
    let evidence = state.evidence.clone();
    let wanted = sha256.clone();
    let found = blocking(move || {
        let Some(blob) = evidence.stat(&wanted)? else {
            return Ok(None);
        };
        Ok(evidence.get(&wanted)?.map(|bytes| (blob, bytes)))
    })
    .await?;
    let (blob, bytes) = found.ok_or_else(|| ApiError::NotFound(format!("evidence {sha256}")))?;
    let disposition = headers::evidence_disposition(&sha256, blob.media_type);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(blob.media_type),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
