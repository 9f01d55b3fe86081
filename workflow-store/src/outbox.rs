//! The transactional outbox: notifications that the log's events call for, written by
//! [`OutboxProjection`] in the same transaction as its checkpoint, and handed to a
//! dispatcher that delivers each at least once (decision 0030).
//!
//! A message is one notice for one recipient on one channel. Its [`OutboxMessage::key`]
//! is stable (complaint, event sequence, notice, channel, recipient): the projection
//! never writes a message twice, and every delivery carries the key so that a receiver
//! can drop a repeated one. A dispatcher [`claims`](crate::Store::claim_outbox) due
//! messages under a lease (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite an `IMMEDIATE`
//! transaction), so that of several dispatchers one delivers a message at a time; a
//! lease that lapses (a dispatcher that died mid-delivery) lets another take it again.
//! A failure schedules the next attempt after an exponential backoff with jitter
//! ([`RetryPolicy`]); after the last attempt the message is dead until an operator
//! [`retries`](crate::Store::retry_outbox) it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};
use workflow_core::{ComplaintServices, EventBody, Role};

use crate::backend::BackendKind;
use crate::error::StoreError;
use crate::log::StoredEvent;
use crate::position::Position;
use crate::projection::{Projection, Target};
use crate::store::Store;
use crate::timestamp;

/// The recipient of a message to the complainant (the address is opened at delivery).
pub const COMPLAINANT: &str = "complainant";
/// The recipient of a message to the configured webhook.
pub const WEBHOOK: &str = "webhook";

/// What a message tells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Notice {
    /// A complaint was disposed to the liaison officer.
    Disposed,
    /// A BA was issued to the head of the agency (to acknowledge).
    BaIssued,
    /// A step ran past its deadline (the head and the coordinators).
    Breached,
    /// The complainant was answered.
    Responded,
    /// The liaison officer reported progress to the complainant.
    Progress,
    /// A step the liaison officer holds is due within the policy's at-risk window
    /// (a working day by default).
    AtRisk,
    /// The coordinator's digest of one day: the breaches recorded and the complaints
    /// whose returns were escalated to the coordinator.
    Digest,
}

impl Notice {
    /// Every notice, in a stable order.
    pub const ALL: [Notice; 7] = [
        Notice::Disposed,
        Notice::BaIssued,
        Notice::Breached,
        Notice::Responded,
        Notice::Progress,
        Notice::AtRisk,
        Notice::Digest,
    ];

    /// The notice's stable name (also the name of its templates).
    pub fn as_str(self) -> &'static str {
        match self {
            Notice::Disposed => "disposed",
            Notice::BaIssued => "ba_issued",
            Notice::Breached => "breached",
            Notice::Responded => "responded",
            Notice::Progress => "progress",
            Notice::AtRisk => "at_risk",
            Notice::Digest => "digest",
        }
    }
}

impl std::str::FromStr for Notice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Notice::ALL
            .into_iter()
            .find(|n| n.as_str() == s)
            .ok_or_else(|| format!("unknown notice `{s}`"))
    }
}

/// How a message is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail over SMTP.
    Email,
    /// A signed HTTP POST to the configured webhook.
    Webhook,
}

impl Channel {
    /// The channel's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Webhook => "webhook",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [Channel::Email, Channel::Webhook]
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown channel `{s}`"))
    }
}

/// Where a message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being delivered under a lease).
    Pending,
    /// Delivered (the receiver accepted it).
    Sent,
    /// Its attempts ran out; waits for an operator's retry.
    Dead,
    /// Not to be delivered: no address (a complainant who gave no e-mail address or
    /// whose identity was erased, a person without one), or a channel not configured.
    Skipped,
}

impl DeliveryState {
    /// Every state, in a stable order.
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Sent,
        DeliveryState::Dead,
        DeliveryState::Skipped,
    ];

    /// The state's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Dead => "dead",
            DeliveryState::Skipped => "skipped",
        }
    }
}

impl std::str::FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DeliveryState::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown state `{s}` (pending, sent, dead, skipped)"))
    }
}

/// One notification in the outbox.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OutboxMessage {
    /// The idempotency key: the message's id, carried by every delivery.
    pub key: String,
    /// The position of the event that called for it.
    pub position: Position,
    /// The complaint.
    pub complaint_id: String,
    /// The event's sequence within the complaint.
    pub sequence: i64,
    /// What it tells.
    pub notice: Notice,
    /// How it is delivered.
    pub channel: Channel,
    /// A person's user name, [`COMPLAINANT`] or [`WEBHOOK`].
    pub recipient: String,
    /// What the templates are rendered with (the complaint, the event's details).
    pub context: serde_json::Value,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts so far (a claim counts as one).
    pub attempts: u32,
    /// Not before then.
    pub next_attempt_at: DateTime<Utc>,
    /// The last failure, or why it was skipped.
    pub last_error: Option<String>,
    /// When the projection wrote it.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
}

/// When a failed delivery is tried again, and how often at most.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before a message is dead (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles with each further one.
    pub base: Duration,
    /// The longest wait.
    pub cap: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (from 1): `base * 2^(attempt-1)`,
    /// at most `cap`, of which a random part (up to half) is taken off, so that
    /// messages that failed together are not tried again together.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doubled = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(30));
        let full = doubled.min(self.cap);
        let mut bytes = [0u8; 4];
        let fraction = match getrandom::getrandom(&mut bytes) {
            Ok(()) => f64::from(u32::from_le_bytes(bytes)) / f64::from(u32::MAX),
            Err(_) => 0.5,
        };
        full.mul_f64(1.0 - fraction / 2.0)
    }
}

/// A view's projection that writes the messages each event calls for into `outbox`, in
/// the same transaction as its checkpoint. It keeps which agency and liaison officer
/// hold each complaint (`outbox_assignments`) to address later notices. Its replay
/// rebuilds only that table: messages are never written again by a replay.
#[derive(Clone, Copy, Debug, Default)]
pub struct OutboxProjection;

/// The projection's name (its checkpoint's).
pub const OUTBOX_PROJECTION: &str = "outbox";

#[async_trait]
impl Projection for OutboxProjection {
    fn name(&self) -> &'static str {
        OUTBOX_PROJECTION
    }

    fn tables(&self) -> &'static [&'static str] {
        &["outbox_assignments"]
    }

    async fn apply(
        &self,
        conn: &mut AnyConnection,
        target: Target,
        events: &[StoredEvent],
        _services: &ComplaintServices,
    ) -> Result<(), StoreError> {
        let assignments = target.table("outbox_assignments");
        // Which events call for messages. Live: all, but for a complaint taken back
        // from the parked ones (`resume` hands over its whole history) only those from
        // where it was parked; the earlier ones had theirs, or came before the outbox.
        // Rebuild: the assignments only, but for what the live projection has not
        // reached yet and what it set aside, since a replay's switch-over moves the
        // live checkpoint past them. A message written twice is the same key: kept
        // once.
        let notifies = |body: &EventBody| {
            matches!(
                body,
                EventBody::Disposed(_)
                    | EventBody::BaIssued(_)
                    | EventBody::SlaBreached(_)
                    | EventBody::Responded(_)
                    | EventBody::ProgressReported(_)
            )
        };
        if !events
            .iter()
            .any(|e| notifies(&e.event.body) || matches!(e.event.body, EventBody::Reassigned(_)))
        {
            // Most batches: nothing this projection writes, and nothing to look up.
            return Ok(());
        }
        let parked: std::collections::HashMap<String, Position> = sqlx::query(
            "SELECT complaint_id, position FROM projection_parked WHERE projection = $1",
        )
        .bind(OUTBOX_PROJECTION)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("complaint_id")?, r.try_get("position")?)))
        .collect::<Result<_, StoreError>>()?;
        let live_checkpoint: Option<Position> = match target {
            Target::Live => None,
            Target::Rebuild => {
                sqlx::query("SELECT position FROM projection_checkpoints WHERE name = $1")
                    .bind(OUTBOX_PROJECTION)
                    .fetch_optional(&mut *conn)
                    .await?
                    .map(|r| r.try_get("position"))
                    .transpose()?
            }
        };
        let calls_for_messages = |e: &StoredEvent| {
            let since_parked = parked
                .get(e.complaint_id.as_str())
                .map(|from| e.position >= *from);
            match target {
                Target::Live => since_parked.unwrap_or(true),
                Target::Rebuild => {
                    since_parked.unwrap_or(false)
                        || live_checkpoint.is_none_or(|reached| e.position > reached)
                }
            }
        };
        for e in events {
            let id = e.complaint_id.as_str();
            let mut context = serde_json::json!({
                "complaint_id": id,
                "at": timestamp(e.event.at),
            });
            let (notice, recipients): (Notice, Vec<String>) = match &e.event.body {
                EventBody::Disposed(d) => {
                    sqlx::query(&format!(
                        "INSERT INTO {assignments} (complaint_id, agency, liaison) VALUES ($1, $2, $3) \
                         ON CONFLICT (complaint_id) DO UPDATE SET agency = $2, liaison = $3"
                    ))
                    .bind(id)
                    .bind(&d.agency.0)
                    .bind(&d.liaison_officer.0)
                    .execute(&mut *conn)
                    .await?;
                    context["agency"] = d.agency.0.clone().into();
                    context["liaison"] = d.liaison_officer.0.clone().into();
                    context["note"] = d.note.clone().into();
                    (Notice::Disposed, vec![d.liaison_officer.0.clone()])
                }
                EventBody::Reassigned(r) => {
                    sqlx::query(&format!(
                        "UPDATE {assignments} SET liaison = $1 WHERE complaint_id = $2"
                    ))
                    .bind(&r.liaison_officer.0)
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                    continue;
                }
                EventBody::BaIssued(ba) => {
                    let Some((agency, liaison)) = assigned(conn, &assignments, id).await? else {
                        continue;
                    };
                    context["agency"] = agency.clone().into();
                    context["liaison"] = liaison.into();
                    context["ba_number"] = ba.number.clone().into();
                    context["ba_date"] = ba.date.to_string().into();
                    context["conclusion"] = ba.conclusion.clone().into();
                    let heads = people_with(conn, Role::Head, Some(&agency)).await?;
                    (Notice::BaIssued, heads)
                }
                EventBody::SlaBreached(b) => {
                    let mut to = Vec::new();
                    if let Some((agency, liaison)) = assigned(conn, &assignments, id).await? {
                        to = people_with(conn, Role::Head, Some(&agency)).await?;
                        context["agency"] = agency.into();
                        context["liaison"] = liaison.into();
                    }
                    to.extend(people_with(conn, Role::Coordinator, None).await?);
                    context["step"] = serde_json::to_value(b.step).unwrap_or_default();
                    context["occurrence"] = b.occurrence.into();
                    context["due_at"] = timestamp(b.due_at).into();
                    (Notice::Breached, to)
                }
                EventBody::Responded(r) => {
                    context["text"] = r.response.clone().into();
                    (Notice::Responded, vec![COMPLAINANT.to_owned()])
                }
                EventBody::ProgressReported(p) => {
                    context["text"] = p.text.clone().into();
                    (Notice::Progress, vec![COMPLAINANT.to_owned()])
                }
                _ => continue,
            };
            if !calls_for_messages(e) {
                continue;
            }
            context["notice"] = notice.as_str().into();
            let mut messages: Vec<(Channel, String)> = recipients
                .into_iter()
                .map(|r| (Channel::Email, r))
                .collect();
            messages.push((Channel::Webhook, WEBHOOK.to_owned()));
            for (channel, recipient) in messages {
                enqueue(conn, e, notice, channel, &recipient, &context).await?;
            }
        }
        Ok(())
    }
}

/// The stable idempotency key of one message.
pub fn message_key(
    complaint_id: &str,
    sequence: i64,
    notice: Notice,
    channel: Channel,
    recipient: &str,
) -> String {
    format!(
        "{complaint_id}/{sequence}/{}/{}/{recipient}",
        notice.as_str(),
        channel.as_str()
    )
}

async fn enqueue(
    conn: &mut AnyConnection,
    e: &StoredEvent,
    notice: Notice,
    channel: Channel,
    recipient: &str,
    context: &serde_json::Value,
) -> Result<(), StoreError> {
    let sequence = crate::codec::sequence_column(e.sequence);
    let key = message_key(
        e.complaint_id.as_str(),
        sequence,
        notice,
        channel,
        recipient,
    );
    let now = timestamp(Utc::now());
    sqlx::query(
        "INSERT INTO outbox (key, position, complaint_id, sequence, notice, channel, recipient, context, state, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', 0, $9, $9) ON CONFLICT (key) DO NOTHING",
    )
    .bind(&key)
    .bind(e.position)
    .bind(e.complaint_id.as_str())
    .bind(sequence)
    .bind(notice.as_str())
    .bind(channel.as_str())
    .bind(recipient)
    .bind(context.to_string())
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The agency and liaison officer holding `complaint_id`, as the projection knows them.
async fn assigned(
    conn: &mut AnyConnection,
    table: &str,
    complaint_id: &str,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT agency, liaison FROM {table} WHERE complaint_id = $1"
    ))
    .bind(complaint_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| -> Result<(String, String), StoreError> {
        Ok((r.try_get("agency")?, r.try_get("liaison")?))
    })
    .transpose()
}

/// The people of `role` (of `agency`) who have an e-mail address and are not disabled.
async fn people_with(
    conn: &mut AnyConnection,
    role: Role,
    agency: Option<&str>,
) -> Result<Vec<String>, StoreError> {
    let of_agency = if agency.is_some() {
        " AND agency = $2"
    } else {
        ""
    };
    let sql = format!(
        "SELECT user_name FROM people WHERE role = $1{of_agency} \
         AND email IS NOT NULL AND disabled_at IS NULL ORDER BY user_name"
    );
    let mut query = sqlx::query(&sql).bind(role.as_str());
    if let Some(agency) = agency {
        query = query.bind(agency);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("user_name")?))
        .collect()
}

fn integrity(key: &str, reason: String) -> StoreError {
    StoreError::Integrity {
        complaint_id: key.to_owned(),
        reason: format!("outbox message: {reason}"),
        source: None,
    }
}

/// Refuses what cannot be an e-mail address (no `@`, white space, empty parts).
pub fn check_email(address: &str) -> Result<(), StoreError> {
    match address.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !address.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(())
        }
        _ => Err(StoreError::Invalid(format!(
            "`{address}` is not an e-mail address"
        ))),
    }
}

const COLUMNS: &str = "key, position, complaint_id, sequence, notice, channel, recipient, context, state, attempts, next_attempt_at, last_error, created_at, sent_at";

fn message(row: &sqlx::any::AnyRow) -> Result<OutboxMessage, StoreError> {
    let key: String = row.try_get("key")?;
    fn named<T: std::str::FromStr<Err = String>>(
        key: &str,
        column: &str,
        text: String,
    ) -> Result<T, StoreError> {
        text.parse()
            .map_err(|e: String| integrity(key, format!("{column}: {e}")))
    }
    let context: String = row.try_get("context")?;
    Ok(OutboxMessage {
        position: row.try_get("position")?,
        complaint_id: row.try_get("complaint_id")?,
        sequence: row.try_get("sequence")?,
        notice: named(&key, "notice", row.try_get("notice")?)?,
        channel: named(&key, "channel", row.try_get("channel")?)?,
        recipient: row.try_get("recipient")?,
        context: serde_json::from_str(&context)
            .map_err(|e| integrity(&key, format!("context: {e}")))?,
        state: named(&key, "state", row.try_get("state")?)?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: crate::codec::instant(
            &key,
            "next_attempt_at",
            &row.try_get::<String, _>("next_attempt_at")?,
        )?,
        last_error: row.try_get("last_error")?,
        created_at: crate::codec::instant(
            &key,
            "created_at",
            &row.try_get::<String, _>("created_at")?,
        )?,
        sent_at: crate::codec::instant_opt(
            &key,
            "sent_at",
            row.try_get::<Option<String>, _>("sent_at")?.as_deref(),
        )?,
        key,
    })
}

impl Store {
    /// Writes an [`Notice::AtRisk`] message (to the liaison officer holding the
    /// complaint, and to the webhook) for every running step whose at-risk window has
    /// begun at `now` and whose deadline has not passed. Each run of a step is told once:
    /// the key names the complaint, the step and its occurrence. Returns how many
    /// messages were written. The SLA monitor of `aduan serve` calls it at every tick.
    pub async fn enqueue_at_risk(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let db = self.log().db();
        db.writable("writing at-risk notifications")?;
        let at = timestamp(now);
        let rows = sqlx::query(
            "SELECT d.complaint_id, d.step, d.occurrence, d.due_at, a.agency, a.liaison, \
             (SELECT COUNT(*) FROM people p WHERE p.user_name = a.liaison AND p.email IS NOT NULL AND p.disabled_at IS NULL) AS reachable \
             FROM sla_deadlines d JOIN outbox_assignments a ON a.complaint_id = d.complaint_id \
             WHERE d.ended_at IS NULL AND d.breachable = 1 AND d.due_at >= $1 AND d.at_risk_from <= $1 \
             ORDER BY d.due_at, d.complaint_id",
        )
        .bind(&at)
        .fetch_all(&db.any)
        .await?;
        let mut written = 0;
        for row in rows {
            let complaint_id: String = row.try_get("complaint_id")?;
            let step: String = row.try_get("step")?;
            let occurrence: i64 = row.try_get("occurrence")?;
            let liaison: String = row.try_get("liaison")?;
            let context = serde_json::json!({
                "complaint_id": complaint_id,
                "notice": Notice::AtRisk.as_str(),
                "at": at,
                "step": step,
                "occurrence": occurrence,
                "due_at": row.try_get::<String, _>("due_at")?,
                "agency": row.try_get::<String, _>("agency")?,
                "liaison": liaison,
            });
            let mut to = vec![(Channel::Webhook, WEBHOOK.to_owned())];
            if row.try_get::<i64, _>("reachable")? > 0 {
                to.insert(0, (Channel::Email, liaison.clone()));
            }
            for (channel, recipient) in to {
                let key = format!(
                    "{complaint_id}/{step}.{occurrence}/{}/{}/{recipient}",
                    Notice::AtRisk.as_str(),
                    channel.as_str()
                );
                let done = sqlx::query(
                    "INSERT INTO outbox (key, position, complaint_id, sequence, notice, channel, recipient, context, state, attempts, next_attempt_at, created_at) \
                     VALUES ($1, 0, $2, 0, $3, $4, $5, $6, 'pending', 0, $7, $7) ON CONFLICT (key) DO NOTHING",
                )
                .bind(&key)
                .bind(&complaint_id)
                .bind(Notice::AtRisk.as_str())
                .bind(channel.as_str())
                .bind(&recipient)
                .bind(context.to_string())
                // Due at once, whatever instant the monitor judged.
                .bind(timestamp(Utc::now()))
                .execute(&db.any)
                .await?;
                written += done.rows_affected();
            }
        }
        Ok(written)
    }

    /// Writes the coordinators' [`Notice::Digest`] of the local day before `now`'s (in
    /// the policy's time zone): the breaches recorded that day and the escalated returns
    /// recorded that day, one e-mail per coordinator with an address and one webhook.
    /// A day's digest is written once (its key names the day), and only when the day had
    /// a breach or an escalation. Returns how many messages were written. The SLA monitor
    /// of `aduan serve` calls it at every tick.
    pub async fn enqueue_digest(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let db = self.log().db();
        db.writable("writing the coordinators' digest")?;
        let zone = self.engine().services().policy.time_zone.clone();
        let today = zone.local_date(now);
        let Some(day) = today.pred_opt() else {
            return Ok(0);
        };
        let (start, end) = match day.pred_opt() {
            Some(before) => (zone.end_of_day(before), zone.end_of_day(day)),
            None => return Ok(0),
        };
        let (start, end) = (timestamp(start), timestamp(end));
        let breaches = sqlx::query(
            "SELECT complaint_id, step, occurrence, agency, breach_recorded_at FROM step_runs \
             WHERE breach_recorded_at > $1 AND breach_recorded_at <= $2 \
             ORDER BY breach_recorded_at, complaint_id, step, occurrence",
        )
        .bind(&start)
        .bind(&end)
        .fetch_all(&db.any)
        .await?
        .iter()
        .map(|r| -> Result<serde_json::Value, StoreError> {
            Ok(serde_json::json!({
                "complaint_id": r.try_get::<String, _>("complaint_id")?,
                "step": r.try_get::<String, _>("step")?,
                "occurrence": r.try_get::<i64, _>("occurrence")?,
                "agency": r.try_get::<Option<String>, _>("agency")?,
            }))
        })
        .collect::<Result<Vec<_>, _>>()?;
        let escalated = sqlx::query(
            "SELECT complaint_id FROM audit_timeline WHERE event_type = 'ReturnsEscalated' \
             AND at > $1 AND at <= $2 ORDER BY position",
        )
        .bind(&start)
        .bind(&end)
        .fetch_all(&db.any)
        .await?
        .iter()
        .map(|r| r.try_get::<String, _>("complaint_id"))
        .collect::<Result<Vec<_>, _>>()?;
        if breaches.is_empty() && escalated.is_empty() {
            return Ok(0);
        }
        let context = serde_json::json!({
            "notice": Notice::Digest.as_str(),
            "day": day.to_string(),
            "at": timestamp(now),
            "breaches": breaches,
            "escalated": escalated,
        });
        let mut to: Vec<(Channel, String)> = {
            let mut conn = db.any.acquire().await?;
            people_with(&mut conn, Role::Coordinator, None)
                .await?
                .into_iter()
                .map(|c| (Channel::Email, c))
                .collect()
        };
        to.push((Channel::Webhook, WEBHOOK.to_owned()));
        let mut written = 0;
        for (channel, recipient) in to {
            let key = format!(
                "digest/{day}/{}/{}/{recipient}",
                Notice::Digest.as_str(),
                channel.as_str()
            );
            let done = sqlx::query(
                "INSERT INTO outbox (key, position, complaint_id, sequence, notice, channel, recipient, context, state, attempts, next_attempt_at, created_at) \
                 VALUES ($1, 0, '', 0, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (key) DO NOTHING",
            )
            .bind(&key)
            .bind(Notice::Digest.as_str())
            .bind(channel.as_str())
            .bind(&recipient)
            .bind(context.to_string())
            .bind(timestamp(Utc::now()))
            .execute(&db.any)
            .await?;
            written += done.rows_affected();
        }
        Ok(written)
    }

    /// Claims up to `limit` due messages of `channels` for `worker` until `now + lease`,
    /// counting an attempt for each, oldest first. A message under another's lease is
    /// not taken: PostgreSQL skips the rows another transaction is claiming (`FOR UPDATE
    /// SKIP LOCKED`), SQLite claims in an `IMMEDIATE` transaction (one writer).
    ///
    /// A message whose lease lapsed with its attempts spent under `policy` (its
    /// dispatchers died or hung past the lease on every attempt, a message that kills
    /// its dispatcher, say) is dead, not claimed again.
    pub async fn claim_outbox(
        &self,
        worker: &str,
        channels: &[Channel],
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
        policy: &RetryPolicy,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let db = self.log().db();
        db.writable("claiming notifications")?;
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let now_text = timestamp(now);
        let until = timestamp(now + chrono::Duration::from_std(lease).unwrap_or_default());
        let names: Vec<String> = channels
            .iter()
            .map(|c| format!("'{}'", c.as_str()))
            .collect();
        let lock = match db.kind {
            BackendKind::Sqlite => "",
            BackendKind::Postgres => " FOR UPDATE SKIP LOCKED",
        };
        let mut tx = db.begin_writing(&db.any).await?;
        sqlx::query(&format!(
            "UPDATE outbox SET state = 'dead', last_error = $1, claimed_by = NULL, claimed_until = NULL \
             WHERE state = 'pending' AND attempts >= $2 AND claimed_until IS NOT NULL \
             AND claimed_until <= $3 AND channel IN ({})",
            names.join(", ")
        ))
        .bind(format!(
            "no attempt of the {} finished: each ran past its lease or its dispatcher stopped",
            policy.max_attempts.max(1)
        ))
        .bind(i64::from(policy.max_attempts.max(1)))
        .bind(&now_text)
        .execute(&mut *tx)
        .await?;
        let rows = sqlx::query(&format!(
            "SELECT key FROM outbox WHERE state = 'pending' AND next_attempt_at <= $1 \
             AND (claimed_until IS NULL OR claimed_until <= $1) AND channel IN ({}) \
             ORDER BY position, key LIMIT $2{lock}",
            names.join(", ")
        ))
        .bind(&now_text)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for row in rows {
            let key: String = row.try_get("key")?;
            let row = sqlx::query(&format!(
                "UPDATE outbox SET claimed_by = $1, claimed_until = $2, attempts = attempts + 1 \
                 WHERE key = $3 RETURNING {COLUMNS}"
            ))
            .bind(worker)
            .bind(&until)
            .bind(&key)
            .fetch_one(&mut *tx)
            .await?;
            claimed.push(message(&row)?);
        }
        tx.commit().await?;
        Ok(claimed)
    }

    /// Records that `worker` delivered `key`. Only while `worker` holds its claim: a
    /// dispatcher whose lease lapsed and was taken over leaves the outcome to the new
    /// holder. Returns whether it was recorded.
    pub async fn outbox_sent(
        &self,
        key: &str,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.finish(key, worker, DeliveryState::Sent, None, now)
            .await
    }

    /// Records that `key` is not to be delivered, and why (as [`Store::outbox_sent`],
    /// only while `worker` holds its claim).
    pub async fn outbox_skipped(
        &self,
        key: &str,
        worker: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.finish(key, worker, DeliveryState::Skipped, Some(reason), now)
            .await
    }

    async fn finish(
        &self,
        key: &str,
        worker: &str,
        state: DeliveryState,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let db = self.log().db();
        db.writable("recording a delivery")?;
        let done = sqlx::query(
            "UPDATE outbox SET state = $1, sent_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL \
             WHERE key = $4 AND state = 'pending' AND claimed_by = $5",
        )
        .bind(state.as_str())
        .bind((state == DeliveryState::Sent).then(|| timestamp(now)))
        .bind(reason)
        .bind(key)
        .bind(worker)
        .execute(&db.any)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Records a failed attempt of `worker` at `key`: tried again after the policy's
    /// backoff, or dead once its attempts ran out. Returns the state it is left in.
    /// Only while `worker` holds its claim: otherwise nothing changes (the holder
    /// decides) and the message's state is returned.
    pub async fn outbox_failed(
        &self,
        key: &str,
        worker: &str,
        error: &str,
        policy: &RetryPolicy,
        now: DateTime<Utc>,
    ) -> Result<DeliveryState, StoreError> {
        let db = self.log().db();
        db.writable("recording a failed delivery")?;
        let mut tx = db.begin_writing(&db.any).await?;
        let Some(row) = sqlx::query(&format!(
            "SELECT attempts, state, claimed_by FROM outbox WHERE key = $1{}",
            db.for_update()
        ))
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Err(StoreError::NotFound(format!("outbox message {key}")));
        };
        let attempts = u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX);
        let state: String = row.try_get("state")?;
        let holder: Option<String> = row.try_get("claimed_by")?;
        if state != DeliveryState::Pending.as_str() || holder.as_deref() != Some(worker) {
            tx.commit().await?;
            return state.parse().map_err(|e: String| integrity("outbox", e));
        }
        let (state, next) = if attempts >= policy.max_attempts.max(1) {
            (DeliveryState::Dead, now)
        } else {
            let wait = chrono::Duration::from_std(policy.delay(attempts)).unwrap_or_default();
            (DeliveryState::Pending, now + wait)
        };
        sqlx::query(
            "UPDATE outbox SET state = $1, next_attempt_at = $2, last_error = $3, claimed_by = NULL, claimed_until = NULL WHERE key = $4",
        )
        .bind(state.as_str())
        .bind(timestamp(next))
        .bind(error)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(state)
    }

    /// The outbox's messages (of one state), oldest first, at most `limit`.
    pub async fn outbox(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        let in_state = match state {
            Some(s) => format!(" WHERE state = '{}'", s.as_str()),
            None => String::new(),
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM outbox{in_state} ORDER BY position, key LIMIT $1"
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.log().db().any)
        .await?;
        rows.iter().map(message).collect()
    }

    /// How many messages are in each state on each channel (for metrics).
    pub async fn outbox_counts(&self) -> Result<Vec<(DeliveryState, Channel, u64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT state, channel, COUNT(*) AS n FROM outbox GROUP BY state, channel ORDER BY state, channel",
        )
        .fetch_all(&self.log().db().any)
        .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                let channel: String = r.try_get("channel")?;
                let bad = |e: String| integrity("outbox", e);
                Ok((
                    state.parse().map_err(bad)?,
                    channel.parse().map_err(bad)?,
                    u64::try_from(r.try_get::<i64, _>("n")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// Makes a dead (or skipped) message pending again, due now, its attempts counted
    /// from zero. Returns whether there was such a message.
    pub async fn retry_outbox(&self, key: &str, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let db = self.log().db();
        db.writable("retrying a notification")?;
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_by = NULL, claimed_until = NULL \
             WHERE key = $2 AND state IN ('dead', 'skipped')",
        )
        .bind(timestamp(now))
        .bind(key)
        .execute(&db.any)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Makes every dead message pending again, due now. Returns how many.
    pub async fn retry_dead_outbox(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let db = self.log().db();
        db.writable("retrying notifications")?;
        let done = sqlx::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1, claimed_by = NULL, claimed_until = NULL \
             WHERE state = 'dead'",
        )
        .bind(timestamp(now))
        .execute(&db.any)
        .await?;
        Ok(done.rows_affected())
    }

    /// A person's e-mail address, unless they have none or are disabled.
    pub async fn person_email(&self, user: &str) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT email FROM people WHERE user_name = $1 AND disabled_at IS NULL")
                .bind(user)
                .fetch_optional(&self.log().db().any)
                .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("email"))
            .transpose()?
            .flatten())
    }

    /// Sets (or, with `None`, forgets) a person's e-mail address. Returns whether the
    /// person exists.
    pub async fn set_person_email(
        &self,
        user: &str,
        email: Option<&str>,
    ) -> Result<bool, StoreError> {
        let db = self.log().db();
        db.writable("setting an e-mail address")?;
        if let Some(address) = email {
            check_email(address)?;
        }
        let done = sqlx::query("UPDATE people SET email = $1 WHERE user_name = $2")
            .bind(email)
            .bind(user)
            .execute(&db.any)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}
