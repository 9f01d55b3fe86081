//! Who asks and what they may see: the bearer token's caller, the roles a route
//! admits, the agency a listing is scoped to, and the complaint id of a path, checked
//! once here before anything reaches the store.

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use serde::Deserialize;
use workflow_core::{Actor, Complaint, Role};

use super::error::ApiError;
use super::{AppState, PAGE_DEFAULT, PAGE_MAX};

/// The authenticated caller.
pub struct Caller(pub Actor);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Self::from_headers(&parts.headers, state).await
    }
}

/// A request's bearer token, if it carries one.
pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        // The scheme's name is case-insensitive (RFC 9110 §11.1).
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

impl Caller {
    /// The caller a request's bearer token stands for.
    pub async fn from_headers(headers: &HeaderMap, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(headers).ok_or(ApiError::Unauthenticated)?;
        let actor = state
            .store
            .authenticate(token, state.now())
            .await?
            .ok_or(ApiError::Unauthenticated)?;
        // A liaison officer or head sees their agency's complaints only: a token of
        // theirs that names no agency (the store issues none, an older version did)
        // would see every agency's. It is refused, never read as "all agencies".
        if actor.role.is_agency_scoped() && actor.agency.is_none() {
            return Err(ApiError::Forbidden(format!(
                "this {} token names no agency; ask the operator for a new one",
                actor.role
            )));
        }
        Ok(Caller(actor))
    }
}

/// The `{id}` of a complaint's path, checked.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ComplaintPath {
    /// The complaint id: 1 to 64 letters, digits, `-`, `_` or `.`.
    pub id: String,
}

/// A complaint id from a request, checked: the one place an id from outside is judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathId(workflow_core::ComplaintId);

impl PathId {
    /// Checks an id: 1 to 64 letters, digits, `-`, `_` or `.`, starting with a letter
    /// or digit ([`workflow_core::ComplaintId`]).
    pub fn parse(id: &str) -> Result<Self, ApiError> {
        workflow_core::ComplaintId::new(id)
            .map(Self)
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl std::ops::Deref for PathId {
    type Target = workflow_core::ComplaintId;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::fmt::Display for PathId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(p) = Path::<ComplaintPath>::from_request_parts(parts, state).await?;
        Self::parse(&p.id)
    }
}

/// Refused unless the caller has one of `roles`.
pub fn require_role(caller: &Actor, roles: &[Role], what: &str) -> Result<(), ApiError> {
    if roles.contains(&caller.role) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!(
            "role `{}` may not {what}",
            caller.role
        )))
    }
}

/// The agency a listing is limited to: an agency-scoped caller's own (asking for
/// another is refused), otherwise what was asked for.
pub fn scoped_agency(caller: &Actor, asked: Option<String>) -> Result<Option<String>, ApiError> {
    if !caller.role.is_agency_scoped() {
        return Ok(asked);
    }
    let Some(own) = caller.agency.as_ref().map(|a| a.0.clone()) else {
        return Err(no_agency());
    };
    let own = Some(own);
    if asked.is_some() && asked != own {
        return Err(ApiError::Forbidden(
            "you see your own agency's complaints and duties only".into(),
        ));
    }
    Ok(own)
}

/// An agency-scoped caller without an agency sees nothing ([`Caller`] refuses one
/// already; this keeps every scoping check closed on its own).
fn no_agency() -> ApiError {
    ApiError::Forbidden("your token names no agency".into())
}

/// Agency-scoped roles see only their agency's complaints.
pub fn may_see(caller: &Actor, state: &Complaint) -> Result<(), ApiError> {
    if caller.role.is_agency_scoped() && caller.agency.is_none() {
        return Err(no_agency());
    }
    if caller.role.is_agency_scoped() && state.agency() != caller.agency.as_ref() {
        return Err(ApiError::Forbidden(
            "the complaint is not disposed to your agency".into(),
        ));
    }
    Ok(())
}

/// The page size a query asks for: 1 to [`PAGE_MAX`], [`PAGE_DEFAULT`] if not named.
pub fn page_limit(asked: Option<u32>) -> Result<u32, ApiError> {
    match asked {
        None => Ok(PAGE_DEFAULT),
        Some(n) if (1..=PAGE_MAX).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::BadRequest(format!(
            "limit {n}: a page holds 1 to {PAGE_MAX} entries"
        ))),
    }
}
