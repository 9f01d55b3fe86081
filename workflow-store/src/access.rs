//! Records a host keeps in the engine's database so that every host on it shares them:
//! bearer tokens (stored hashed, with an optional expiry and the time of their last
//! use; a liaison officer's or head's names a registered agency, [`crate::agency`]), the log of reads of hidden identities, who uploaded
//! which blob of evidence, and the first answer to each idempotency key (opaque to the
//! store: a code and a body the host chose). Policy (which role may do what) is the domain's and the host's; this module
//! only keeps the records, in tables the store's migrations create (decision 0020).

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::Row;
use workflow_core::ComplaintId;
use workflow_core::{Actor, AgencyCode, Role, UserId};

use crate::chain::hex;
use crate::codec::{instant, instant_opt, named};
use crate::error::{Refusal, StoreError};
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

/// A token as the operator sees it: whose, since and until when, last used when,
/// revoked when. Never the token or its hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Whose.
    pub user: UserId,
    /// In which role.
    pub role: Role,
    /// For which agency (liaison officers and heads).
    pub agency: Option<AgencyCode>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// From when it is refused; `None`: never.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was last accepted, to the minute ([`LAST_USED_EVERY`]), by
    /// [`Store::authenticate`] ([`Store::identify`] leaves it); `None`: never.
    pub last_used_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// How stale a token's last-used time may be before an authentication writes it again:
/// a request is a read, and most reads write nothing.
pub const LAST_USED_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

impl Store {
    /// Issues a bearer token for `actor` that never expires; only its hash is stored.
    /// Returns the token, which cannot be shown again. See [`Store::create_expiring_token`]
    /// for what is refused.
    pub async fn create_token(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        self.issue_token(actor, None, now).await
    }

    /// Issues a bearer token for `actor` that is refused from `expires_at` on.
    ///
    /// Refused, with nothing written ([`StoreError::Refused`]): a user name a command id
    /// cannot carry ([`Refusal::UserName`]); a liaison officer or head without an agency
    /// ([`Refusal::AgencyRequired`]), or another role with one
    /// ([`Refusal::AgencyNotAllowed`]); an agency code that is malformed, not registered
    /// or retired (see [`Store::active_agency`]); an expiry not after `now`.
    pub async fn create_expiring_token(
        &self,
        actor: &Actor,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        self.issue_token(actor, Some(expires_at), now).await
    }

    async fn issue_token(
        &self,
        actor: &Actor,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        self.log().db().writable("issuing a token")?;
        if !workflow_core::actor::is_valid_user_name(&actor.user.0) {
            return Err(Refusal::UserName(actor.user.0.clone()).into());
        }
        match (actor.role.is_agency_scoped(), &actor.agency) {
            (true, None) => return Err(Refusal::AgencyRequired(actor.role).into()),
            (false, Some(_)) => return Err(Refusal::AgencyNotAllowed(actor.role).into()),
            (true, Some(agency)) => {
                self.active_agency(&agency.0).await?;
            }
            (false, None) => {}
        }
        if expires_at.is_some_and(|at| at <= now) {
            return Err(Refusal::ExpiryNotInFuture.into());
        }
        let mut secret = [0u8; 32];
        getrandom::getrandom(&mut secret)
            .map_err(|e| StoreError::backend("no randomness for a token", e))?;
        let token = format!("aduan_{}", hex(&secret));
        // The agency is checked again in the statement that writes the token, so an
        // agency retired or removed meanwhile gets no token.
        let written = sqlx::query(
            "INSERT INTO api_tokens (token_hash, user_name, role, agency, created_at, expires_at) \
             SELECT $1, $2, $3, $4, $5, $6 \
             WHERE $4 IS NULL OR EXISTS (SELECT 1 FROM agencies WHERE code = $4 AND retired_at IS NULL)",
        )
        .bind(token_hash(&token))
        .bind(&actor.user.0)
        .bind(actor.role.as_str())
        .bind(actor.agency.as_ref().map(|a| a.0.clone()))
        .bind(timestamp(now))
        .bind(expires_at.map(timestamp))
        .execute(&self.log().db().any)
        .await?;
        if written.rows_affected() == 0 {
            // Retired or removed since the check above: say which.
            let code = actor
                .agency
                .clone()
                .unwrap_or_else(|| AgencyCode(String::new()));
            self.active_agency(&code.0).await?;
            return Err(Refusal::UnknownAgency(code).into());
        }
        Ok(token)
    }

    /// The actor a token stands for, if it is known, not revoked and not expired at
    /// `now`.
    ///
    /// Records when the token was used, at most once a [`LAST_USED_EVERY`]; that write
    /// is left out on a read-only store, and a failure of it is logged, never returned:
    /// the caller is who they are whether or not the time could be written.
    pub async fn authenticate(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Actor>, StoreError> {
        self.authenticate_as(token, now, true).await
    }

    /// As [`Store::authenticate`], but without recording the token's use: a read only,
    /// which a writer holding the database's lock elsewhere does not hold up (for the
    /// health routes, which must answer while the write path fails).
    pub async fn identify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Actor>, StoreError> {
        self.authenticate_as(token, now, false).await
    }

    async fn authenticate_as(
        &self,
        token: &str,
        now: DateTime<Utc>,
        record_use: bool,
    ) -> Result<Option<Actor>, StoreError> {
        let hash = token_hash(token);
        let row = sqlx::query(
            "SELECT user_name, role, agency, expires_at, last_used_at FROM api_tokens \
             WHERE token_hash = $1 AND revoked_at IS NULL",
        )
        .bind(&hash)
        .fetch_optional(&self.log().db().any)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let user: String = row.try_get("user_name")?;
        let about = format!("token of {user}");
        let expires_at = instant_opt(
            &about,
            "expires_at",
            row.try_get::<Option<String>, _>("expires_at")?.as_deref(),
        )?;
        if expires_at.is_some_and(|at| at <= now) {
            return Ok(None);
        }
        let last_used_at = instant_opt(
            &about,
            "last_used_at",
            row.try_get::<Option<String>, _>("last_used_at")?.as_deref(),
        )?;
        if record_use
            && last_used_at.is_none_or(|at| now - at >= LAST_USED_EVERY)
            && !self.log().db().read_only
        {
            self.record_token_use(&hash, &user, now).await;
        }
        let role: Role = named(&about, "role", &row.try_get::<String, _>("role")?)?;
        Ok(Some(Actor {
            user: UserId(user),
            role,
            agency: row.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
        }))
    }

    /// Writes a token's last use, unless another request (or host) wrote a recent one.
    async fn record_token_use(&self, hash: &str, user: &str, now: DateTime<Utc>) {
        let written = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $2 \
             WHERE token_hash = $1 AND (last_used_at IS NULL OR last_used_at <= $3)",
        )
        .bind(hash)
        .bind(timestamp(now))
        .bind(timestamp(now - LAST_USED_EVERY))
        .execute(&self.log().db().any)
        .await;
        if let Err(e) = written {
            let e = StoreError::from(e);
            tracing::warn!(error = %e, %user, "could not record when a token was last used");
        }
    }

    /// Every token ever issued, by user and then by creation: the record, never the
    /// token or its hash.
    pub async fn tokens(&self) -> Result<Vec<TokenRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_name, role, agency, created_at, expires_at, last_used_at, revoked_at \
             FROM api_tokens ORDER BY user_name, created_at",
        )
        .fetch_all(&self.log().db().any)
        .await?;
        rows.iter()
            .map(|r| {
                let user: String = r.try_get("user_name")?;
                let about = format!("token of {user}");
                let at = |column: &str| -> Result<Option<DateTime<Utc>>, StoreError> {
                    instant_opt(
                        &about,
                        column,
                        r.try_get::<Option<String>, _>(column)?.as_deref(),
                    )
                };
                Ok(TokenRecord {
                    role: named(&about, "role", &r.try_get::<String, _>("role")?)?,
                    agency: r.try_get::<Option<String>, _>("agency")?.map(AgencyCode),
                    created_at: instant(
                        &about,
                        "created_at",
                        &r.try_get::<String, _>("created_at")?,
                    )?,
                    expires_at: at("expires_at")?,
                    last_used_at: at("last_used_at")?,
                    revoked_at: at("revoked_at")?,
                    user: UserId(user),
                })
            })
            .collect()
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

    /// A page of the log of identity reads, newest first: of one complaint and/or by
    /// one reader (a user name) when given, skipping `offset` reads, at most `limit`.
    pub async fn identity_read_log(
        &self,
        complaint_id: Option<&ComplaintId>,
        reader: Option<&str>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<IdentityRead>, StoreError> {
        let mut conditions = Vec::new();
        if complaint_id.is_some() {
            conditions.push(format!("complaint_id = ${}", conditions.len() + 1));
        }
        if reader.is_some() {
            conditions.push(format!("user_name = ${}", conditions.len() + 1));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let n = conditions.len();
        let sql = format!(
            "SELECT read_at, user_name, role, complaint_id, via FROM identity_reads{filter} \
             ORDER BY read_at DESC, user_name, complaint_id, via LIMIT ${} OFFSET ${}",
            n + 1,
            n + 2
        );
        let mut query = sqlx::query(&sql);
        if let Some(id) = complaint_id {
            query = query.bind(id.as_str());
        }
        if let Some(user) = reader {
            query = query.bind(user);
        }
        let rows = query
            .bind(i64::from(limit))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
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
    ///
    /// Answers arriving together are kept together: each joins a queue, and whoever
    /// takes the writer's turn next (on SQLite the turn the log's appends take,
    /// decision 42) writes every answer waiting in one statement, one commit for them
    /// all. The answer kept is read back only when another was kept first.
    pub async fn keep_answer(
        &self,
        user: &str,
        key: &str,
        answer: KeptAnswer,
        now: DateTime<Utc>,
    ) -> Result<KeptAnswer, StoreError> {
        let db = self.log().db();
        db.writable("keeping an answer")?;
        let to_keep = |done| ToKeep {
            user: user.to_owned(),
            key: key.to_owned(),
            answer: answer.clone(),
            at: timestamp(now),
            done,
        };
        // Answered by this caller's own statement or by one before it. A caller that
        // took this answer with its own and was dropped before it said what became of
        // it (its request given up half-way) leaves it unanswered: it is written again,
        // which changes nothing if it was kept.
        let (done, mut kept) = tokio::sync::oneshot::channel();
        let _in_hand = self.answers.enter(to_keep(done));
        let mut attempt = 0;
        let kept = loop {
            attempt += 1;
            if attempt > 1 {
                let (done, again) = tokio::sync::oneshot::channel();
                self.answers.push(to_keep(done));
                kept = again;
            }
            // A caller answered while it waits for the turn needs no turn.
            let answered = tokio::select! {
                biased;
                answered = &mut kept => Some(answered),
                turn = db.writer() => {
                    let waiting = self.answers.take();
                    if !waiting.is_empty() {
                        keep_together(db, waiting).await;
                    }
                    drop(turn);
                    None
                }
            };
            let answered = match answered {
                Some(answered) => answered,
                None => (&mut kept).await,
            };
            match answered {
                Ok(kept) => break kept?,
                Err(_) if attempt < 3 => {}
                Err(_) => return Err(StoreError::Unavailable {
                    reason:
                        "the answer was taken to be kept by requests given up half-way, three times"
                            .into(),
                    source: None,
                }),
            }
        };
        if kept {
            return Ok(answer);
        }
        Ok(self.kept_answer(user, key).await?.unwrap_or(answer))
    }
}

/// An answer waiting to be kept, and where to say whether it was (`false`: another
/// answer to its key was kept first).
struct ToKeep {
    user: String,
    key: String,
    answer: KeptAnswer,
    at: String,
    done: tokio::sync::oneshot::Sender<Result<bool, StoreError>>,
}

/// The answers to idempotency keys waiting to be kept.
#[derive(Default)]
pub(crate) struct AnswerQueue {
    state: std::sync::Mutex<Waiting>,
}

#[derive(Default)]
struct Waiting {
    /// The answers not yet taken into a statement.
    answers: Vec<ToKeep>,
    /// How many callers are keeping an answer and have not been answered.
    in_hand: usize,
}

/// A caller keeping an answer, counted until it is answered or given up.
struct InHand<'a>(&'a AnswerQueue);

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        self.0.state().in_hand -= 1;
    }
}

impl AnswerQueue {
    fn state(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues a caller's first answer, counting the caller in hand.
    fn enter(&self, answer: ToKeep) -> InHand<'_> {
        let mut state = self.state();
        state.answers.push(answer);
        state.in_hand += 1;
        InHand(self)
    }

    /// Queues an answer again.
    fn push(&self, answer: ToKeep) {
        self.state().answers.push(answer);
    }

    fn take(&self) -> Vec<ToKeep> {
        std::mem::take(&mut self.state().answers)
    }

    /// How many answers wait to be taken into a statement, and how many callers
    /// keeping one have not been answered, at one moment.
    #[cfg(feature = "testing")]
    pub(crate) fn in_hand(&self) -> (usize, usize) {
        let state = self.state();
        (state.answers.len(), state.in_hand)
    }
}

/// The most answers one statement keeps (six parameters each).
const ANSWERS_PER_STATEMENT: usize = 100;

/// Keeps `waiting`, a hundred to a statement, and tells each whether it was kept. A
/// key twice among them keeps one of its answers. Should a statement fail other than
/// for the database being unavailable, each of its answers is kept alone, so that one
/// that cannot be kept fails alone. Each statement's rows are in the order of their
/// keys, so that two statements at once (PostgreSQL has no writer's turn) take their
/// keys' locks in the same order.
async fn keep_together(db: &crate::backend::Db, mut waiting: Vec<ToKeep>) {
    waiting.sort_by(|a, b| (&a.user, &a.key).cmp(&(&b.user, &b.key)));
    while !waiting.is_empty() {
        let rest = waiting.split_off(waiting.len().min(ANSWERS_PER_STATEMENT));
        match keep_in_one(db, &waiting).await {
            Ok(mut kept) => {
                for w in waiting {
                    // Of twins, the one whose answer is in the row says so; the
                    // other reads it.
                    let it = kept.remove(&(w.user, w.key, w.answer.request_hash));
                    let _ = w.done.send(Ok(it));
                }
            }
            Err(e) if waiting.len() == 1 => {
                if let Some(w) = waiting.into_iter().next() {
                    let _ = w.done.send(Err(StoreError::from(e)));
                }
            }
            Err(e) if crate::error::is_transient(&e) => {
                for w in waiting {
                    let _ = w.done.send(Err(crate::log::copy_error(&e)));
                }
            }
            Err(_) => {
                for w in waiting {
                    let alone = keep_in_one(db, std::slice::from_ref(&w)).await;
                    let _ = w
                        .done
                        .send(alone.map(|kept| !kept.is_empty()).map_err(StoreError::from));
                }
            }
        }
        waiting = rest;
    }
}

/// One statement keeping `waiting`: the user, key and request of each answer it kept.
async fn keep_in_one(
    db: &crate::backend::Db,
    waiting: &[ToKeep],
) -> Result<std::collections::HashSet<(String, String, String)>, sqlx::Error> {
    let values = crate::backend::Params::of_kind(db.kind).rows(waiting.len(), 6);
    let sql = format!(
        "INSERT INTO idempotency_keys (user_name, idem_key, request_hash, status, response, created_at) \
         VALUES {values} ON CONFLICT (user_name, idem_key) DO NOTHING RETURNING user_name, idem_key, request_hash"
    );
    let mut q = sqlx::query(&sql);
    for w in waiting {
        q = q
            .bind(&w.user)
            .bind(&w.key)
            .bind(&w.answer.request_hash)
            .bind(i64::from(w.answer.status))
            .bind(&w.answer.response)
            .bind(&w.at);
    }
    // Prepared once for one answer; a statement of many is of as many shapes as there
    // are counts, and is not kept among the connection's prepared statements.
    q.persistent(waiting.len() == 1)
        .fetch_all(&db.any)
        .await?
        .iter()
        .map(|r| {
            Ok((
                r.try_get("user_name")?,
                r.try_get("idem_key")?,
                r.try_get("request_hash")?,
            ))
        })
        .collect()
}
