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
use workflow_store::keys::OpenedEvidence;
use workflow_store::views::CitationKind;

use crate::evidence::sniff;

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
    /// visit of that complaint may then cite it, whoever uploaded it. With `personal`,
    /// UPP may name a complaint still to be registered.
    pub complaint: Option<String>,
    /// The file shows personal data (an ID scan): it is kept sealed with the data key of
    /// `complaint` (required), only that complaint may cite it, only those who may see
    /// that complainant's identity may download it (each download recorded), and it is
    /// gone for everyone once the identity is erased.
    #[serde(default)]
    pub personal: bool,
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
/// by a user of the liaison officer's agency. With `personal=true` it is sealed with
/// the named complaint's key (never kept in clear) and citable by that complaint alone.
#[utoipa::path(post, path = "/api/v1/evidence", tag = "evidence", params(UploadQuery),
    request_body(content = Upload, content_type = "application/octet-stream",
        description = "The file's bytes. Send its own type (image/jpeg, image/png, image/webp, image/gif, application/pdf) or application/octet-stream: the type is read from the bytes, and a declared type that disagrees is refused (415)."),
    responses((status = 201, body = EvidenceAnswer), (status = 400), (status = 401), (status = 403), (status = 404), (status = 409), (status = 413), (status = 415), (status = 503)),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    Caller(caller): Caller,
    TypedQuery(q): TypedQuery<UploadQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let declared = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let answer = store_upload(&state, &caller, &q, declared, body).await?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// Stores an upload under the rules of [`upload`] (the console's forms upload through
/// this too): its type read from the bytes, sealed first when personal, recorded once
/// stored.
pub(crate) async fn store_upload(
    state: &AppState,
    caller: &Actor,
    q: &UploadQuery,
    declared: Option<String>,
    body: Bytes,
) -> Result<EvidenceAnswer, ApiError> {
    let caller = caller.clone();
    let state = state.clone();
    require_role(&caller, &[Role::Liaison, Role::Upp], "upload evidence")?;
    let complaint = match q.complaint.as_deref() {
        Some(id) => {
            let id = PathId::parse(id)?;
            match load_visible(&state, &caller, &id).await {
                Ok(_) => {}
                // A personal file (the ID scan) comes before its registration.
                Err(ApiError::NotFound(_)) if q.personal && caller.role == Role::Upp => {}
                Err(e) => return Err(e),
            }
            Some(id)
        }
        None if q.personal => {
            return Err(ApiError::BadRequest(
                "a personal upload is sealed with its complaint's key: name the complaint \
                 (?complaint=ID&personal=true)"
                    .into(),
            ))
        }
        None => None,
    };
    let evidence = state.evidence.clone();
    let blob = match (&complaint, q.personal) {
        (Some(id), true) => {
            let checked = evidence.check(&body, declared.as_deref())?;
            // Sealed before it is written: the plaintext never reaches the folder.
            let sealed = state
                .store
                .seal_evidence(id, checked.media_type, &body)
                .await?;
            let (id, sha256) = ((**id).clone(), checked.sha256.clone());
            blocking(move || Ok(evidence.put_sealed(&id, &sha256, &sealed)?)).await?;
            checked
        }
        _ => blocking(move || Ok(evidence.put(&body, declared.as_deref())?)).await?,
    };
    // Recorded once the bytes are stored: a record always names a blob that exists.
    state
        .store
        .record_upload(
            &caller,
            &blob.sha256,
            complaint.as_deref(),
            q.personal,
            state.now(),
        )
        .await?;
    Ok(EvidenceAnswer {
        sha256: blob.sha256,
        size: blob.size,
        media_type: blob.media_type.to_owned(),
        personal: q.personal,
    })
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
/// The attachments of an anonymous or confidential registration, and any file uploaded
/// as personal, only those who may see the complainant's identity, and each such
/// download is recorded as a read of it. A personal file whose complainant's identity
/// was erased is 410 for everyone. Anything else is 404, as if there were no such file.
#[utoipa::path(get, path = "/api/v1/evidence/{sha256}", tag = "evidence", params(EvidencePath),
    responses((status = 200, description = "The bytes, with the type read from them",
               content((Upload = "image/jpeg"), (Upload = "image/png"), (Upload = "image/webp"),
                       (Upload = "image/gif"), (Upload = "application/pdf"))),
              (status = 400), (status = 401), (status = 404), (status = 410), (status = 503)),
    security(("bearer" = [])))]
pub async fn download(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(EvidencePath { sha256 }): Path<EvidencePath>,
) -> Result<Response, ApiError> {
    hand_out(&state, &caller, sha256).await
}

/// A file for `caller` under the rules of [`download`] (the console's pages show
/// photos through this too).
pub(crate) async fn hand_out(
    state: &AppState,
    caller: &Actor,
    sha256: String,
) -> Result<Response, ApiError> {
    let (state, caller) = (state.clone(), caller.clone());
    let not_found = || ApiError::NotFound(format!("evidence {sha256}"));
    let access = readable(&state, &caller, &sha256).await?;
    if let Some(protected) = access.plain {
        let evidence = state.evidence.clone();
        let wanted = sha256.clone();
        let found = blocking(move || {
            let Some(blob) = evidence.stat(&wanted)? else {
                return Ok(None);
            };
            Ok(evidence.get(&wanted)?.map(|bytes| (blob, bytes)))
        })
        .await?;
        if let Some((blob, bytes)) = found {
            // The file may show the complainant: the read is recorded before it goes,
            // and if it cannot be recorded it does not go.
            for id in &protected {
                state
                    .store
                    .record_identity_read(&caller, id, DOWNLOAD_ROUTE, state.now())
                    .await?;
            }
            let mut response = handed_out(&sha256, blob.media_type, bytes);
            if !protected.is_empty() {
                // It may show the complainant: no cache keeps a copy.
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("no-store"),
                );
            }
            return Ok(response);
        }
    }
    let mut erased = false;
    for complaint in access.sealed {
        let evidence = state.evidence.clone();
        let wanted = sha256.clone();
        let id = complaint.clone();
        let Some(sealed) = blocking(move || Ok(evidence.get_sealed(&id, &wanted)?)).await? else {
            continue;
        };
        match state.store.open_evidence(&complaint, &sealed).await? {
            OpenedEvidence::Erased => erased = true,
            OpenedEvidence::Bytes(_, plain) => {
                state
                    .store
                    .record_identity_read(&caller, &complaint, DOWNLOAD_ROUTE, state.now())
                    .await?;
                let media_type = sniff(&plain).unwrap_or("application/octet-stream");
                let mut response = handed_out(&sha256, media_type, plain.to_vec());
                response.headers_mut().insert(
                    header::CACHE_CONTROL,
                    header::HeaderValue::from_static("no-store"),
                );
                return Ok(response);
            }
        }
    }
    if erased {
        return Err(ApiError::Refused {
            status: StatusCode::GONE,
            detail: format!(
                "evidence {sha256} showed a complainant whose identity was erased (dihapus \
                 sesuai UU PDP)"
            ),
        });
    }
    Err(not_found())
}

/// The bytes of a blob as a response of their type.
fn handed_out(sha256: &str, media_type: &'static str, bytes: Vec<u8>) -> Response {
    let disposition = headers::evidence_disposition(sha256, media_type);
    (
        [
            (
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(media_type),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response()
}

/// Which copies of a blob a caller may download.
#[derive(Debug, Default)]
struct Access {
    /// The copy in clear, if the caller may have it: with the complaints whose
    /// anonymous or confidential registration cites it (its downloads are reads of
    /// their identities).
    plain: Option<Vec<ComplaintId>>,
    /// The complaints whose sealed copy the caller may have.
    sealed: Vec<ComplaintId>,
}

/// Which copies of the blob `sha256` `caller` may download: the one in clear if they
/// uploaded it or may read a complaint citing it (the registration's attachments of an
/// anonymous or confidential complaint only if they may see its identity); a copy sealed
/// for a complaint if they uploaded it, or that complaint cites it and they may see its
/// identity.
async fn readable(state: &AppState, caller: &Actor, sha256: &str) -> Result<Access, ApiError> {
    let uploads = state.store.evidence_uploads(sha256).await?;
    let mut access = Access::default();
    let mut plain = uploads
        .iter()
        .any(|u| u.uploader.user == caller.user && !u.personal);
    let mut protected = Vec::new();
    let mut cited_by = Vec::new();
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
        let may_read = may_see(caller, &detail.state).is_ok();
        let may_see_identity = may_read && identity_visible_to(caller.role, level);
        if may_see_identity {
            cited_by.push(citation.complaint_id.clone());
        }
        let shows_complainant =
            citation.kind == CitationKind::Registration && level != Confidentiality::Public;
        if shows_complainant {
            protected.push(citation.complaint_id.clone());
        }
        plain |= may_read && (!shows_complainant || may_see_identity);
    }
    if plain {
        access.plain = Some(protected);
    }
    for upload in uploads.iter().filter(|u| u.personal) {
        let Some(complaint) = &upload.complaint_id else {
            continue;
        };
        let allowed = upload.uploader.user == caller.user || cited_by.contains(complaint);
        if allowed && !access.sealed.contains(complaint) {
            access.sealed.push(complaint.clone());
        }
    }
    Ok(access)
}
