//! Imports: reports from a LAPOR!-SP4N export registered over HTTP, as `aduan import
//! lapor` registers them (`crate::lapor`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, StatusCode};
use axum::Json;
use workflow_core::Role;

use super::caller::{require_role, Caller};
use super::error::ApiError;
use super::AppState;
use crate::lapor::report::MAX_REPORTS;
use crate::lapor::{read_reports, Attachments, Format, ImportSummary};

/// The files of a multipart import, by file name.
struct Parts(BTreeMap<String, Bytes>);

impl Attachments for Parts {
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(self.0.get(name).map(|b| b.to_vec()))
    }
}

/// The most text of reports one import takes (tens of thousands of lines).
pub const REPORTS_LIMIT: usize = 16 * 1024 * 1024;

/// The largest import: the reports and as many as eight attachments of the evidence
/// limit.
pub fn limit(evidence_limit: usize) -> usize {
    REPORTS_LIMIT + 8 * evidence_limit
}

/// The format a content type names: `text/csv`, or JSON Lines
/// (`application/x-ndjson`, `application/jsonl`, `application/json-seq`).
fn format_of(content_type: &str) -> Option<Format> {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "text/csv" => Some(Format::Csv),
        "application/x-ndjson"
        | "application/jsonl"
        | "application/x-jsonlines"
        | "application/jsonlines" => Some(Format::Jsonl),
        _ => None,
    }
}

/// Register the reports of a LAPOR!-SP4N export, each once (upp).
///
/// The body is the export itself, JSON Lines (`application/x-ndjson`) or CSV
/// (`text/csv`), with LAPOR!'s field names (docs/lapor.md); or `multipart/form-data`
/// with the export in a part named `reports` (its format from the part's type or its
/// file name) and each attachment the reports name as a file part of that name. A
/// report's tracking number is its complaint's id: one already registered is counted
/// as present and left as it is, so sending the same file twice changes nothing. A
/// line that cannot be imported is listed with its number, the field at fault and why;
/// the others are imported. The answer is 200 whatever the lines held.
#[utoipa::path(post, path = "/api/v1/imports/lapor", tag = "imports",
    request_body(content((String = "application/x-ndjson"), (String = "text/csv"), (String = "multipart/form-data")),
        description = "A LAPOR!-SP4N export: JSON Lines, CSV, or multipart with a `reports` part and the attachments as file parts named as the reports name them."),
    responses((status = 200, body = ImportSummary), (status = 400), (status = 401), (status = 403), (status = 413), (status = 415), (status = 503)),
    security(("bearer" = [])))]
pub async fn lapor(
    State(state): State<AppState>,
    Caller(caller): Caller,
    request: Request,
) -> Result<(StatusCode, Json<ImportSummary>), ApiError> {
    require_role(&caller, &[Role::Upp], "import reports")?;
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let (text, format, files) = if content_type.starts_with("multipart/form-data") {
        read_multipart(&state, request).await?
    } else {
        let format = format_of(&content_type).ok_or_else(|| {
            ApiError::UnsupportedMediaType(format!(
                "send the export as application/x-ndjson, text/csv or multipart/form-data, not `{content_type}`"
            ))
        })?;
        let body = axum::body::to_bytes(request.into_body(), REPORTS_LIMIT)
            .await
            .map_err(|_| ApiError::TooLarge("the export is larger than 16 MiB: split it".into()))?;
        (utf8(body)?, format, BTreeMap::new())
    };
    let zone = state.store.engine().services().policy.time_zone.clone();
    // Reading 16 MiB of text is work for the blocking pool, not an async thread.
    let reports = tokio::task::spawn_blocking(move || read_reports(&text, format, &zone))
        .await
        .map_err(|e| ApiError::Internal(format!("reading the export panicked: {e}")))?;
    if reports.len() > MAX_REPORTS {
        return Err(ApiError::TooLarge(format!(
            "{} reports: an import takes at most {MAX_REPORTS}; split the export",
            reports.len()
        )));
    }
    let summary = crate::lapor::import(
        &state.store,
        &state.evidence,
        &caller,
        state.now(),
        reports,
        &Parts(files),
        |_, _| {},
    )
    .await?;
    Ok((StatusCode::OK, Json(summary)))
}

fn utf8(body: Bytes) -> Result<String, ApiError> {
    String::from_utf8(body.to_vec())
        .map_err(|e| ApiError::BadRequest(format!("the export is not UTF-8 text: {e}")))
}

async fn read_multipart(
    state: &AppState,
    request: Request,
) -> Result<(String, Format, BTreeMap<String, Bytes>), ApiError> {
    let mut parts = Multipart::from_request(request, state)
        .await
        .map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let mut reports = None;
    let mut files = BTreeMap::new();
    while let Some(part) = parts.next_field().await.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::TooLarge("the import is larger than the limit".into())
        }
        _ => ApiError::BadRequest(e.body_text()),
    })? {
        let name = part.name().unwrap_or_default().to_owned();
        let file_name = part.file_name().map(str::to_owned);
        let content_type = part.content_type().map(str::to_owned);
        let bytes = part.bytes().await.map_err(|e| match e.status() {
            StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::TooLarge("the import is larger than the limit".into())
            }
            _ => ApiError::BadRequest(e.body_text()),
        })?;
        if name == "reports" {
            if reports.is_some() {
                return Err(ApiError::BadRequest(
                    "two parts named `reports`: send one export a request".into(),
                ));
            }
            if bytes.len() > REPORTS_LIMIT {
                return Err(ApiError::TooLarge(
                    "the export is larger than 16 MiB: split it".into(),
                ));
            }
            let format = content_type
                .as_deref()
                .and_then(format_of)
                .unwrap_or_else(|| Format::of_name(file_name.as_deref().unwrap_or_default()));
            reports = Some((utf8(bytes)?, format));
        } else if let Some(file_name) = file_name {
            if files.insert(file_name.clone(), bytes).is_some() {
                return Err(ApiError::BadRequest(format!(
                    "two files named `{file_name}`: an attachment is found by its name"
                )));
            }
        } else {
            return Err(ApiError::BadRequest(format!(
                "an unexpected part `{name}`: send `reports` and the attachments as files"
            )));
        }
    }
    let (text, format) = reports
        .ok_or_else(|| ApiError::BadRequest("no part named `reports` holds the export".into()))?;
    Ok((text, format, files))
}
