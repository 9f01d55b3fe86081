//! Records a host keeps in the engine's database so that every host on it shares them:
//! bearer tokens (stored hashed), the log of reads of hidden identities, who uploaded
//! which blob of evidence, and the first answer to each idempotency key (opaque to the
//! store: a code and a body the host chose). Policy (which role may do what) is the domain's and the host's; this module
//! only keeps the records, in tables the store's migrations create (decision 0020).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::Row;
use workflow_core::ComplaintId;
use workflow_core::{Actor, AgencyCode, Role, UserId};

use crate::chain::hex;
use crate::codec::{instant, named};
use crate::error::StoreError;
use crate::store::Store;
use crate::timestamp;

/// A read of a complainant's hidden identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityRead {
    /// When.
    pub read_at: String,
    /// Who.
    pub user: String,
    /// In which role.
    pub role: String,
    /// Which complaint.
    pub complaint_id: String,
    /// Through which view or route.
    pub via: String,
}

/// An upload of a blob of evidence: who sent it, and for which complaint if they said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvidenceUpload {
    /// The blob's SHA-256, lower-case hex.
    pub sha256: String,
    /// Who uploaded it, in which role and agency.
    pub uploader: Actor,
    /// The complaint the uploader named, if any.
    pub complaint_id: Option<ComplaintId>,
    /// Marked personal: kept sealed with `complaint_id`'s data key, citable by that
    /// complaint alone ([`crate::Store::seal_evidence`]).
    pub personal: bool,
    /// When.
    pub uploaded_at: DateTime<Utc>,
}

/// An answer kept for an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptAnswer {
    /// Fingerprint of the request that produced it.
    pub request_hash: String,
    /// The host's answer code (an HTTP status, for the `aduan` host).
    pub status: u16,
    /// The body.
    pub response: String,
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Issues a bearer token for a user; only its hash is stored. Returns the token,
    /// which cannot be shown again.
    pub async fn create_token(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        self.log().db().writable("issuing a token")?;
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret)
            .map_err(|e| StoreError::backend("no randomness for a token", e))?;
        let token = format!("aduan_{}", hex(&secret));
        sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_name, role, agency, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_hash(&token))
        .bind(&actor.user.0)
        .bind(actor.role.as_str())
        .bind(actor.agency.as_ref().map(|a| a.0.clone()))
        .bind(timestamp(now))
        .execute(&self.log().db().any)
        .await?;
        Ok(token)
    }

    /// The actor a token stands for, if it is known and not revoked.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Actor>, StoreError> {
        let row = sqlx::query("SELECT user_name, role, agency FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL")
            .bind(token_hash(token))
            .fetch_optional(&self.log().db().any)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        let role: Role = role
            .parse()
            .map_err(|e: workflow_core::actor::UnknownRole| StoreError::Backend {
                reason: e.to_string(),
                source: Some(Box::new(e)),
            })?;
        Ok(Some(Actor {
            user: UserId(row.try_get("user_name")?),
            role,
            agency: row.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        }))
    }

    /// Revokes every token of a user; returns how many.
    pub async fn revoke_tokens(&self, user: &str, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.log().db().writable("revoking tokens")?;
        let done = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_name = $2 AND revoked_at IS NULL",
        )
        .bind(timestamp(now))
        .bind(user)
        .execute(&self.log().db().any)
        .await?;
        Ok(done.rows_affected())
    }

    /// Records that `actor` read the hidden identity of a complainant.
    pub async fn record_identity_read(
        &self,
        actor: &Actor,
        complaint_id: &ComplaintId,
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.log()
            .db()
            .writable("recording a read of a hidden identity")?;
        sqlx::query("INSERT INTO identity_reads (read_at, user_name, role, complaint_id, via) VALUES ($1, $2, $3, $4, $5)")
            .bind(timestamp(now))
            .bind(&actor.user.0)
            .bind(actor.role.as_str())
            .bind(complaint_id.as_str())
            .bind(via)
            .execute(&self.log().db().any)
            .await?;
        Ok(())
    }

    /// Who read a complaint's hidden identity, oldest first.
    pub async fn identity_reads(
        &self,
        complaint_id: &ComplaintId,
    ) -> Result<Vec<IdentityRead>, StoreError> {
        let rows = sqlx::query(
            "SELECT read_at, user_name, role, complaint_id, via FROM identity_reads WHERE complaint_id = $1 ORDER BY read_at",
        )
        .bind(complaint_id.as_str())
        .fetch_all(&self.log().db().any)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(IdentityRead {
                    read_at: r.try_get("read_at")?,
                    user: r.try_get("user_name")?,
                    role: r.try_get("role")?,
                    complaint_id: r.try_get("complaint_id")?,
                    via: r.try_get("via")?,
                })
            })
            .collect()
    }

    /// Records that `actor` uploaded the blob `sha256`, for `complaint_id` if they named
    /// one; `personal` when it was sealed with that complaint's key (which it must then
    /// name). Every upload is a record: the same bytes sent by two users belong to both.
    pub async fn record_upload(
        &self,
        actor: &Actor,
        sha256: &str,
        complaint_id: Option<&ComplaintId>,
        personal: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.log()
            .db()
            .writable("recording an upload of evidence")?;
        if personal && complaint_id.is_none() {
            return Err(StoreError::defect(
                "an upload marked personal names the complaint whose key seals it",
            ));
        }
        sqlx::query(
            "INSERT INTO evidence_uploads (sha256, user_name, role, agency, complaint_id, uploaded_at, personal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(sha256)
        .bind(&actor.user.0)
        .bind(actor.role.as_str())
        .bind(actor.agency.as_ref().map(|a| a.0.clone()))
        .bind(complaint_id.map(|c| c.as_str().to_owned()))
        .bind(timestamp(now))
        .bind(i32::from(personal))
        .execute(&self.log().db().any)
        .await?;
        Ok(())
    }

    /// Every upload of a blob, oldest first.
    pub async fn evidence_uploads(&self, sha256: &str) -> Result<Vec<EvidenceUpload>, StoreError> {
        let rows = sqlx::query(
            "SELECT sha256, user_name, role, agency, complaint_id, uploaded_at, personal FROM evidence_uploads \
             WHERE sha256 = $1 ORDER BY uploaded_at, user_name",
        )
        .bind(sha256)
        .fetch_all(&self.log().db().any)
        .await?;
        rows.iter()
            .map(|r| {
                let complaint: Option<String> = r.try_get("complaint_id")?;
                let about = complaint.as_deref().unwrap_or(sha256);
                Ok(EvidenceUpload {
                    sha256: r.try_get("sha256")?,
                    uploader: Actor {
                        user: UserId(r.try_get("user_name")?),
                        role: named(about, "role", &r.try_get::<String, _>("role")?)?,
                        agency: r.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
                    },
                    complaint_id: complaint
                        .as_deref()
                        .map(|c| named(c, "complaint_id", c))
                        .transpose()?,
                    personal: r.try_get::<i32, _>("personal")? != 0,
                    uploaded_at: instant(
                        about,
                        "uploaded_at",
                        &r.try_get::<String, _>("uploaded_at")?,
                    )?,
                })
            })
            .collect()
    }

    /// The answer kept for a user's idempotency key.
    pub async fn kept_answer(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<KeptAnswer>, StoreError> {
        let row = sqlx::query("SELECT request_hash, status, response FROM idempotency_keys WHERE user_name = $1 AND idem_key = $2")
            .bind(user)
            .bind(key)
            .fetch_optional(&self.log().db().any)
            .await?;
        row.map(|r| {
            Ok(KeptAnswer {
                request_hash: r.try_get("request_hash")?,
                status: u16::try_from(r.try_get::<i64, _>("status")?).unwrap_or(500),
                response: r.try_get("response")?,
            })
        })
        .transpose()
    }

    /// Keeps the first answer to a key; if another request kept one first, returns that.
    pub async fn keep_answer(
        &self,
        user: &str,
        key: &str,
        answer: KeptAnswer,
        now: DateTime<Utc>,
    ) -> Result<KeptAnswer, StoreError> {
        self.log().db().writable("keeping an answer")?;
        sqlx::query(
            "INSERT INTO idempotency_keys (user_name, idem_key, request_hash, status, response, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (user_name, idem_key) DO NOTHING",
        )
        .bind(user)
        .bind(key)
        .bind(&answer.request_hash)
        .bind(i64::from(answer.status))
        .bind(&answer.response)
        .bind(timestamp(now))
        .execute(&self.log().db().any)
        .await?;
        Ok(self.kept_answer(user, key).await?.unwrap_or(answer))
    }
}
