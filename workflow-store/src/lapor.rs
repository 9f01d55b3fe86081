//! What goes back to LAPOR!-SP4N: the follow-ups (progress updates, responses,
//! closings) recorded in the log, in batches that each follow-up belongs to exactly
//! once.
//!
//! A batch covers a range of the log's positions, from where the previous batch ended
//! to the head at the moment it is made; the next batch starts there. Positions number
//! the log in commit order (decision 0006), so no follow-up can appear later below a
//! batch that has been made. Two exports made at once cannot take the same range: the
//! table holds each start once, and the second is refused. A batch is kept, so that the
//! file it was written to can be made again from the log ([`Store::lapor_export`]).

use chrono::{DateTime, Utc};
use sqlx::Row;
use workflow_core::{ComplaintId, EventBody, LaporStatus};

use crate::codec::{instant, instant_opt, timestamp};
use crate::error::StoreError;
use crate::position::Position;
use crate::store::Store;

/// One batch of follow-ups for LAPOR!-SP4N.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportBatch {
    /// Its number, from 1.
    pub number: i64,
    /// The log's position it starts after.
    pub after: Position,
    /// The last position it covers.
    pub through: Position,
    /// Follow-ups recorded before this instant were left out (`--since`).
    pub since: Option<DateTime<Utc>>,
    /// When it was made.
    pub made_at: DateTime<Utc>,
    /// Who made it.
    pub made_by: String,
    /// How many follow-ups it holds.
    pub follow_ups: u64,
}

/// What a follow-up tells LAPOR!.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FollowUpKind {
    /// An interim progress update (`ProgressReported`).
    Progress,
    /// The response to the complainant (`Responded`).
    Response,
    /// The closing (`Closed`).
    Closing,
}

impl FollowUpKind {
    /// The stable name written to the file.
    pub fn as_str(self) -> &'static str {
        match self {
            FollowUpKind::Progress => "progress",
            FollowUpKind::Response => "response",
            FollowUpKind::Closing => "closing",
        }
    }

    /// The LAPOR! status the report has after it.
    pub fn lapor_status(self) -> LaporStatus {
        match self {
            FollowUpKind::Progress => LaporStatus::InFollowUp,
            FollowUpKind::Response => LaporStatus::AwaitingFeedback,
            FollowUpKind::Closing => LaporStatus::Finished,
        }
    }
}

/// One follow-up to upload to LAPOR!-SP4N.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowUp {
    /// Its place in the log.
    pub position: Position,
    /// The complaint.
    pub complaint_id: ComplaintId,
    /// The LAPOR! tracking number of its report.
    pub lapor_id: String,
    /// What it is.
    pub kind: FollowUpKind,
    /// When it was recorded (the event's instant).
    pub at: DateTime<Utc>,
    /// Who recorded it (a user name).
    pub by: String,
    /// The agency of who recorded it, if any.
    pub agency: Option<String>,
    /// The text: the update, the response, or the closing's reason and remarks.
    pub text: String,
}

/// The event types a follow-up is made of.
const FOLLOW_UP_TYPES: &str = "('ProgressReported', 'Responded', 'Closed')";

impl Store {
    /// Makes the next batch: every follow-up after the previous batch up to the log's
    /// head, less those recorded before `since`. `None` when the log has nothing after
    /// the previous batch (no batch is made). An export made at the same moment by
    /// another process is refused ([`StoreError::Conflict`]-like, from the database):
    /// run it again.
    pub async fn new_lapor_export(
        &self,
        since: Option<DateTime<Utc>>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(ExportBatch, Vec<FollowUp>)>, StoreError> {
        let db = self.log().db();
        db.writable("making an export for LAPOR!")?;
        let last = sqlx::query(
            "SELECT COALESCE(MAX(batch), 0) AS batch, COALESCE(MAX(through_position), 0) AS through \
             FROM lapor_exports",
        )
        .fetch_one(&db.any)
        .await?;
        let number: i64 = last.try_get("batch")?;
        let after: Position = last.try_get("through")?;
        let through = self.log().head().await?;
        if through <= after {
            return Ok(None);
        }
        let follow_ups = self.follow_ups_between(after, through, since).await?;
        let batch = ExportBatch {
            number: number + 1,
            after,
            through,
            since,
            made_at: now,
            made_by: by.to_owned(),
            follow_ups: follow_ups.len() as u64,
        };
        sqlx::query(
            "INSERT INTO lapor_exports (batch, after_position, through_position, since, made_at, made_by, follow_ups) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(batch.number)
        .bind(batch.after)
        .bind(batch.through)
        .bind(since.map(timestamp))
        .bind(timestamp(now))
        .bind(by)
        .bind(batch.follow_ups as i64)
        .execute(&db.any)
        .await?;
        Ok(Some((batch, follow_ups)))
    }

    /// Batch `number` and its follow-ups, read again from the log: the same rows as
    /// when it was made. `None` if there is no such batch.
    pub async fn lapor_export(
        &self,
        number: i64,
    ) -> Result<Option<(ExportBatch, Vec<FollowUp>)>, StoreError> {
        let Some(batch) = self
            .lapor_exports()
            .await?
            .into_iter()
            .find(|b| b.number == number)
        else {
            return Ok(None);
        };
        let follow_ups = self
            .follow_ups_between(batch.after, batch.through, batch.since)
            .await?;
        Ok(Some((batch, follow_ups)))
    }

    /// Every batch made, oldest first.
    pub async fn lapor_exports(&self) -> Result<Vec<ExportBatch>, StoreError> {
        let rows = sqlx::query(
            "SELECT batch, after_position, through_position, since, made_at, made_by, follow_ups \
             FROM lapor_exports ORDER BY batch",
        )
        .fetch_all(&self.log().db().any)
        .await?;
        rows.iter()
            .map(|row| {
                let since: Option<String> = row.try_get("since")?;
                let made_at: String = row.try_get("made_at")?;
                let follow_ups: i64 = row.try_get("follow_ups")?;
                Ok(ExportBatch {
                    number: row.try_get("batch")?,
                    after: row.try_get("after_position")?,
                    through: row.try_get("through_position")?,
                    since: instant_opt("lapor_exports", "since", since.as_deref())?,
                    made_at: instant("lapor_exports", "made_at", &made_at)?,
                    made_by: row.try_get("made_by")?,
                    follow_ups: follow_ups.max(0) as u64,
                })
            })
            .collect()
    }

    /// The follow-ups at positions after `after` through `through`, recorded at or
    /// after `since`, in log order, each with its report's LAPOR! tracking number.
    async fn follow_ups_between(
        &self,
        after: Position,
        through: Position,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<FollowUp>, StoreError> {
        let log = self.log();
        let mut conn = log.db().any.acquire().await?;
        let mut out = Vec::new();
        let mut lapor_ids = std::collections::HashMap::new();
        let mut from = after;
        // Pages of the log, so that a first export of a long history stays bounded in
        // what each query returns.
        loop {
            let page = log
                .read_types_between(&mut conn, from, through, FOLLOW_UP_TYPES, 1000)
                .await?;
            let Some(last) = page.last() else { break };
            from = last.position;
            for stored in page {
                let event = &stored.event;
                if since.is_some_and(|since| event.at < since) {
                    continue;
                }
                let (kind, text) = match &event.body {
                    EventBody::ProgressReported(p) => (FollowUpKind::Progress, p.text.clone()),
                    EventBody::Responded(r) => (FollowUpKind::Response, r.response.clone()),
                    EventBody::Closed(c) => {
                        let reason = match c.reason {
                            workflow_core::complaint::command::ClosingReason::Settled => {
                                "Selesai: pelapor puas"
                            }
                            workflow_core::complaint::command::ClosingReason::NoFeedback => {
                                "Selesai: tidak ada tanggapan pelapor dalam batas waktu"
                            }
                            workflow_core::complaint::command::ClosingReason::NotReopened => {
                                "Selesai: pelapor tidak puas dan aduan tidak dibuka kembali"
                            }
                        };
                        let text = match &c.note {
                            Some(note) => format!("{reason}. {note}"),
                            None => reason.to_owned(),
                        };
                        (FollowUpKind::Closing, text)
                    }
                    _ => continue,
                };
                let lapor_id = match lapor_ids.get(&stored.complaint_id) {
                    Some(known) => String::clone(known),
                    None => {
                        let found = self.lapor_id_of(&mut conn, &stored.complaint_id).await?;
                        lapor_ids.insert(stored.complaint_id.clone(), found.clone());
                        found
                    }
                };
                out.push(FollowUp {
                    position: stored.position,
                    complaint_id: stored.complaint_id.clone(),
                    lapor_id,
                    kind,
                    at: event.at,
                    by: event.by.user.0.clone(),
                    agency: event.by.agency.as_ref().map(|a| a.0.clone()),
                    text,
                });
            }
        }
        Ok(out)
    }

    /// The LAPOR! tracking number a complaint was registered with (its first event).
    async fn lapor_id_of(
        &self,
        conn: &mut sqlx::AnyConnection,
        complaint_id: &ComplaintId,
    ) -> Result<String, StoreError> {
        let first = self
            .log()
            .read_first(conn, complaint_id.as_str())
            .await?
            .ok_or_else(|| {
                StoreError::integrity(
                    complaint_id.as_str(),
                    "a follow-up of a complaint with no registration",
                    None,
                )
            })?;
        match first.event.body {
            EventBody::Received(r) => Ok(r.lapor_id),
            other => Err(StoreError::integrity(
                complaint_id.as_str(),
                format!(
                    "its first event is {}, not a registration",
                    other.event_type()
                ),
                None,
            )),
        }
    }
}
