//! An idempotent command: the extractor every command route takes, and the one path a
//! command goes through from the request to its answer.
//!
//! [`Idempotent`] authenticates the caller, parses the JSON body into the route's
//! request type, checks the path's complaint id and reads the `Idempotency-Key`.
//! [`Pending::execute`] then runs the command: the key (per user) becomes the command
//! id, the first answer to a key is kept and given again byte for byte, and the
//! command waits for the views to include its event (read your writes) before it
//! answers. Contact points: the store's engine, projector and kept answers.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use workflow_core::{Actor, CommandEnvelope, ComplaintCommand, Sequence};
use workflow_store::access::KeptAnswer;

use super::answers::CommandAnswer;
use super::caller::{Caller, PathId};
use super::dto::{Citing, ResolveCommand};
use super::error::ApiError;
use super::AppState;

/// The `Idempotency-Key` header, as the OpenAPI document declares it.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
pub struct IdempotencyKey {
    /// The same key twice does the work once and answers the same; 1 to 200 ASCII
    /// characters.
    #[param(rename = "Idempotency-Key")]
    pub key: Option<String>,
}

/// A command request: its parsed body `T`, the complaint id of its path (if the route
/// has one) and what running it needs.
pub struct Idempotent<T> {
    /// The body.
    pub request: T,
    /// The checked `{id}` of the path; `None` on `POST /complaints`.
    pub path_id: Option<PathId>,
    /// Who, under which key, and what to fingerprint.
    pub pending: Pending,
}

/// What running a command needs besides the command.
pub struct Pending {
    caller: Actor,
    key: Option<String>,
    route: String,
    body: Bytes,
}

impl<T: DeserializeOwned> FromRequest<AppState> for Idempotent<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let Caller(caller) = Caller::from_request_parts(&mut parts, state).await?;
        // The route as declared, without the version prefix: part of the request's
        // fingerprint, which kept answers of earlier versions were made with.
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().trim_start_matches("/api/v1").to_owned())
            .unwrap_or_default();
        let has_id = route.contains("{id}");
        let headers = parts.headers.clone();
        let path_id = if has_id {
            Some(PathId::from_request_parts(&mut parts, state).await)
        } else {
            None
        };
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    ApiError::TooLarge("the body is larger than the limit".into())
                }
                _ => ApiError::BadRequest(e.body_text()),
            })?;
        let request = parse_json(&headers, &body)?;
        let path_id = path_id.transpose()?;
        let key = idempotency_key(&headers)?;
        Ok(Self {
            request,
            path_id,
            pending: Pending {
                caller,
                key,
                route,
                body,
            },
        })
    }
}

impl<T> Idempotent<T> {
    /// The complaint id of the path (routes under `/complaints/{id}` only).
    pub fn id(&self) -> Result<PathId, ApiError> {
        self.path_id
            .clone()
            .ok_or_else(|| ApiError::Internal(format!("{} has no {{id}}", self.pending.route)))
    }
}

impl<T: ResolveCommand> Idempotent<T> {
    /// Runs the body's command on the complaint of the path; 200 and the answer.
    pub async fn run(self, state: &AppState) -> Result<Response, ApiError> {
        let id = self.id()?;
        let citing = Citing::new(state, &self.pending.caller, &id);
        let command = self.request.resolve(&citing).await?;
        let command = citing.check(command).await?;
        self.pending
            .execute(state, &id, command, StatusCode::OK)
            .await
    }
}

fn parse_json<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .is_some_and(|v| {
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !json_type {
        return Err(ApiError::UnsupportedMediaType(
            "send the body as Content-Type: application/json".into(),
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the JSON body does not fit: {e}")))
}

pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => {
            let key = v
                .to_str()
                .map_err(|_| ApiError::BadRequest("Idempotency-Key must be ASCII".into()))?
                .trim();
            if key.is_empty() || key.len() > 200 {
                return Err(ApiError::BadRequest(
                    "Idempotency-Key must have 1 to 200 characters".into(),
                ));
            }
            Ok(Some(key.to_owned()))
        }
    }
}

/// A random id, 128 bits in hex; without randomness, time and a counter (unique per process).
pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // With no randomness the id is still unique enough per process: time and a counter.
    if getrandom::getrandom(&mut bytes).is_err() {
        static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        bytes[..8].copy_from_slice(&n.to_le_bytes());
        bytes[8..].copy_from_slice(&Utc::now().timestamp_nanos_opt().unwrap_or(0).to_le_bytes());
    }
    workflow_store::chain::hex(&bytes)
}

impl Pending {
    /// A command of `caller` outside the JSON API (Open311's form), under `key`, sent to
    /// `route`; `body` is what its fingerprint is made of, without personal data.
    pub(crate) fn new(caller: Actor, key: Option<String>, route: &str, body: Vec<u8>) -> Self {
        Self {
            caller,
            key,
            route: route.to_owned(),
            body: Bytes::from(body),
        }
    }

    /// Who sends it.
    pub fn caller(&self) -> &Actor {
        &self.caller
    }

    /// Runs `command` on `complaint_id` and answers `status` (201 or 200) with a
    /// [`CommandAnswer`], or the answer kept for this key.
    pub async fn execute(
        self,
        state: &AppState,
        complaint_id: &PathId,
        command: ComplaintCommand,
        status: StatusCode,
    ) -> Result<Response, ApiError> {
        let Pending {
            caller,
            key,
            route,
            body,
        } = self;
        // The request's fingerprint names the complaint too: the same key and body sent
        // to another complaint is another request, refused as a reused key, never
        // answered with the first complaint's result.
        let fingerprint = {
            let mut h = Sha256::new();
            h.update(route.as_bytes());
            h.update(b"\n");
            h.update(complaint_id.as_str().as_bytes());
            h.update(b"\n");
            h.update(without_personal_data(&body));
            workflow_store::chain::hex(&h.finalize())
        };
        if let Some(key) = &key {
            if let Some(kept) = state.store.kept_answer(&caller.user.0, key).await? {
                return kept_response(kept, &fingerprint);
            }
        }
        let command_id = match &key {
            Some(k) => format!("{}:{k}", caller.user),
            None => random_id(),
        };
        let envelope =
            CommandEnvelope::new(command_id.clone(), caller.clone(), state.now(), command);
        let done = state
            .execute(complaint_id, envelope, Some(&command_id))
            .await?;
        // Done before under this id (a retry, or a concurrent twin): answer with the
        // event it recorded then, as the engine read it from the log.
        let first = done
            .events
            .first()
            .or(done.recorded_before.first())
            .ok_or_else(|| {
                ApiError::Internal(format!("command {command_id} seen but not found"))
            })?;
        let sequence = Sequence::new(first.sequence as u64);
        let event_type = first.payload.body.event_type().to_owned();
        // Read your writes: the background projector brings the views up to this event;
        // past the wait the answer goes anyway (the events are committed).
        if let Err(e) = state
            .store
            .projector()
            .wait_for(complaint_id, sequence, state.read_your_writes)
            .await
        {
            tracing::warn!(error = %e, complaint = %complaint_id, "the views lag behind a command");
        }
        let answer = CommandAnswer {
            complaint_id: complaint_id.to_string(),
            command_id,
            sequence,
            event_type,
            status: done.status.as_str().to_owned(),
        };
        let response =
            serde_json::to_string(&answer).map_err(|e| ApiError::Internal(e.to_string()))?;
        let Some(key) = key else {
            return Ok(json_response(status, response));
        };
        let answer = KeptAnswer {
            request_hash: fingerprint.clone(),
            status: status.as_u16(),
            response,
        };
        // The events are committed: the answer is theirs whatever happens to this side
        // write. A retry with the same key is then answered from the log.
        match state
            .store
            .keep_answer(&caller.user.0, &key, answer.clone(), state.now())
            .await
        {
            Ok(kept) => kept_response(kept, &fingerprint),
            Err(e) => {
                state.store.health().side_write_failed(&e);
                tracing::warn!(error = %e, %key, "keeping the answer to an idempotency key failed; a retry is answered from the log");
                kept_response(answer, &fingerprint)
            }
        }
    }
}

fn json_response(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn kept_response(kept: KeptAnswer, fingerprint: &str) -> Result<Response, ApiError> {
    if kept.request_hash != fingerprint {
        return Err(ApiError::Rule {
            rule: "http.idempotency_key_reused".into(),
            detail: "this Idempotency-Key was used for a different request".into(),
        });
    }
    let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
    Ok(json_response(status, kept.response))
}

/// The request body less the complainant's personal data, for the fingerprint kept with
/// an idempotency key: a hash of the identity would let anyone holding the database test
/// a guess at who filed an anonymous report. (A retry that differs only in the identity
/// is therefore the same request, as the log's own retry check has it: the identity is
/// sealed there.) A body that is not a JSON object is fingerprinted as it is.
fn without_personal_data(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut fields)) => {
            if let Some(serde_json::Value::Object(who)) = fields.get_mut("complainant") {
                who.retain(|k, _| k == "confidentiality");
            }
            workflow_store::chain::canonical_json(&serde_json::Value::Object(fields)).into_bytes()
        }
        _ => body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fingerprint_of_a_registration_holds_no_trace_of_the_identity() {
        let with = |name: &str| {
            without_personal_data(
                format!(r#"{{"title": "t", "complainant": {{"name": "{name}", "nik": "6203", "confidentiality": "anonymous"}}}}"#)
                    .as_bytes(),
            )
        };
        assert_eq!(with("Budi Santoso"), with("Siti"));
        let text = String::from_utf8(with("Budi Santoso")).unwrap();
        assert!(!text.contains("Budi") && !text.contains("6203"), "{text}");
        assert!(
            text.contains("anonymous") && text.contains("\"t\""),
            "{text}"
        );
        let other = without_personal_data(br#"{"title": "u", "complainant": {"name": "Budi"}}"#);
        assert_ne!(
            with("Budi Santoso"),
            other,
            "the rest of the body still counts"
        );
    }
}
