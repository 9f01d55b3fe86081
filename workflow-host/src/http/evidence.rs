//! Evidence: photos and scans uploaded as raw bytes, named by their SHA-256, and handed
//! out again with the type read from the bytes, to its uploader and to those who may read
//! a complaint citing it. The blob store reads and writes files: that is done off the
//! async threads.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use workflow_core::complainant::{identity_visible_to, Confidentiality};
use workflow_core::{Actor, ComplaintId, Role};
use workflow_store::views::CitationKind;

use super::answers::{EvidenceAnswer, Upload};
use super::caller::{may_see, require_role, Caller, PathId};
use super::complaints::load_visible;
use super::error::ApiError;
use super::{headers, AppState, TypedQuery};

/// The route a download of a registration's attachment is recorded under.
const DOWNLOAD_ROUTE: &str = "GET /evidence/{sha256}";

/// The query of an upload.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// The complaint the file is for, if it is for one the uploader may see: a field
    /// visit of that complaint may then cite it, whoever uploaded it.
    pub complaint: Option<String>,
}

/// Runs a blob store call on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// Upload a photo or scan as raw bytes: JPEG, PNG, WebP, GIF or PDF (liaison, upp).
///
/// Until a command cites it, only its uploader may download it. A registration or an
/// information reply cites uploads by UPP; a field visit, uploads for that complaint or
/// by a user of the liaison officer's agency.
#[utoipa::path(post, path = "/api/v1/evidence", tag = "evidence", params(UploadQuery),
    request_body(content = Upload, content_type = "application/octet-stream",
        description = "The file's bytes. Send its own type (image/jpeg, image/png, image/webp, image/gif, application/pdf) or application/octet-stream: the type is read from the bytes, and a declared type that disagrees is refused (415)."),
    responses((status = 201, body = EvidenceAnswer), (status = 400), (status = 401), (status = 403), (status = 404), (status = 413), (status = 415), (status = 503)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    TypedQuery(q): TypedQuery<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    require_role(&caller, &[Role::Liaison, Role::Upp], "upload evidence")?;
    let complaint = match q.complaint.as_deref() {
        Some(id) => {
            let id = PathId::parse(id)?;
            load_visible(&state, &caller, &id).await?;
            Some(id)
        }
        None => None,
    };
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let evidence = state.evidence.clone();
    let blob = blocking(move || Ok(evidence.put(&body, declared.as_deref())?)).await?;
    // Recorded once the bytes are stored: a record always names a blob that exists.
    state
        .store
        .record_upload(&caller, &blob.sha256, complaint.as_deref(), state.now())
        .await?;
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

/// Download a photo or scan (its uploader; whoever may read a complaint citing it).
///
/// The attachments of an anonymous or confidential registration only those who may see
/// the complainant's identity, and each such download is recorded as a read of it.
/// Anything else is 404, as if there were no such file.
#[utoipa::path(get, path = "/api/v1/evidence/{sha256}", tag = "evidence", params(EvidencePath),
    responses((status = 200, description = "The bytes, with the type read from them",
               content((Upload = "image/jpeg"), (Upload = "image/png"), (Upload = "image/webp"),
                       (Upload = "image/gif"), (Upload = "application/pdf"))),
              (status = 400), (status = 401), (status = 404), (status = 503)),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(EvidencePath { sha256 }): Path<EvidencePath>,
) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("evidence {sha256}"));
    let Some(protected) = readable(&state, &caller, &sha256).await? else {
        return Err(not_found());
    };
    let evidence = state.evidence.clone();
    let wanted = sha256.clone();
    let found = blocking(move || {
        let Some(blob) = evidence.stat(&wanted)? else {
            return Ok(None);
        };
        Ok(evidence.get(&wanted)?.map(|bytes| (blob, bytes)))
    })
    .await?;
    let (blob, bytes) = found.ok_or_else(not_found)?;
    // The file may show the complainant: the read is recorded before it goes, and if it
    // cannot be recorded it does not go.
    for id in &protected {
        state
            .store
            .record_identity_read(&caller, id, DOWNLOAD_ROUTE, state.now())
            .await?;
    }
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

/// Whether `caller` may download the blob `sha256`; if so, the complaints whose
/// anonymous or confidential registration cites it (whose downloads are reads of an
/// identity).
async fn readable(
    state: &AppState,
    caller: &Actor,
    sha256: &str,
) -> Result<Option<Vec<ComplaintId>>, ApiError> {
    let uploaded = state
        .store
        .evidence_uploads(sha256)
        .await?
        .iter()
        .any(|u| u.uploader.user == caller.user);
    let mut cited_for_caller = false;
    let mut protected = Vec::new();
    for citation in state.store.views().citations(sha256).await? {
        let Some(detail) = state.store.views().detail(&citation.complaint_id).await? else {
            continue;
        };
        let level = detail
            .state
            .registration()
            .map_or(Confidentiality::Confidential, |r| {
                r.complainant.confidentiality
            });
        let shows_complainant =
            citation.kind == CitationKind::Registration && level != Confidentiality::Public;
        if shows_complainant {
            protected.push(citation.complaint_id.clone());
        }
        let may_read = may_see(caller, &detail.state).is_ok()
            && (!shows_complainant || identity_visible_to(caller.role, level));
        cited_for_caller |= may_read;
    }
    Ok((uploaded || cited_for_caller).then_some(protected))
}
