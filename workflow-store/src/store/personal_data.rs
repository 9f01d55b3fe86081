//! The store's side of personal data (UU 27/2022, decision 0021): opening an identity
//! for a reader the caller allowed, whether it was erased, the retention policy, the
//! key's rotation and the registrations written before sealing. The keys themselves are
//! [`crate::keys`].

use chrono::{DateTime, Utc};
use sqlx::Row;
use workflow_core::{Complaint, ComplaintId, Status};

use super::{Store, TickReport};
use crate::error::StoreError;
use crate::keys::{KeyRotation, OpenedEvidence, Revealed};

/// A registration whose complainant's identity the log holds in plain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainIdentity {
    /// The complaint (as stored).
    pub complaint_id: String,
    /// The registration's sequence.
    pub sequence: workflow_core::Sequence,
    /// Its place in the log.
    pub position: crate::Position,
    /// Whether the complaint's identity was erased since (then no read shows it, but
    /// these bytes remain).
    pub erased: bool,
}

/// The most identities the retention policy erases in one tick.
pub const RETENTION_BATCH: usize = 500;

impl Store {
    /// The complainant's identity of `complaint` (its state, as loaded), for a reader
    /// the caller has allowed to see it: opened with the complaint's key, or
    /// [`Revealed::Erased`]. `None` before registration. Record the read (the host does,
    /// in `identity-reads`); this call only opens.
    pub async fn reveal_identity(
        &self,
        complaint_id: &ComplaintId,
        complaint: &Complaint,
    ) -> Result<Option<Revealed>, StoreError> {
        let Some(registration) = complaint.registration() else {
            return Ok(None);
        };
        // Erased is for good, also in a history of the time before the erasure.
        if complaint.identity_erased().is_some() || self.identity_erased(complaint_id).await? {
            return Ok(Some(Revealed::Erased));
        }
        match &registration.complainant.identity {
            workflow_core::complainant::Identity::Plain(data) => {
                Ok(Some(Revealed::Identity(data.clone())))
            }
            workflow_core::complainant::Identity::Sealed { sealed } => {
                match self
                    .log
                    .keys()
                    .open_sealed(complaint_id.as_str(), sealed)
                    .await?
                {
                    Some(data) => Ok(Some(Revealed::Identity(data))),
                    // Erased between the check above and the key's lookup.
                    None if self.identity_erased(complaint_id).await? => Ok(Some(Revealed::Erased)),
                    None => Err(StoreError::Keys {
                        reason: format!(
                            "the key of complaint {complaint_id} is gone, though its identity \
                             was never erased"
                        ),
                    }),
                }
            }
        }
    }

    /// Seals a photo or scan marked personal with the complaint's data key (made now if
    /// the complaint has none yet: evidence uploaded before its registration), for the
    /// blob store to keep instead of the plaintext. Erasing the complaint's identity
    /// makes it unreadable. Refused (`pdp.identity_already_erased`) once the identity
    /// was erased.
    pub async fn seal_evidence(
        &self,
        complaint_id: &ComplaintId,
        media_type: &str,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        self.log.db().writable("sealing evidence")?;
        self.log
            .keys()
            .seal_evidence(complaint_id.as_str(), media_type, plaintext)
            .await
    }

    /// Opens a blob [`Store::seal_evidence`] sealed for `complaint_id`, or says it was
    /// erased. Record the read first (the host does, in `identity-reads`).
    pub async fn open_evidence(
        &self,
        complaint_id: &ComplaintId,
        blob: &[u8],
    ) -> Result<OpenedEvidence, StoreError> {
        if self.identity_erased(complaint_id).await? {
            return Ok(OpenedEvidence::Erased);
        }
        match self
            .log
            .keys()
            .open_evidence(complaint_id.as_str(), blob)
            .await?
        {
            Some((header, bytes)) => Ok(OpenedEvidence::Bytes(header, bytes)),
            None if self.identity_erased(complaint_id).await? => Ok(OpenedEvidence::Erased),
            None => Err(StoreError::Keys {
                reason: format!(
                    "the key of complaint {complaint_id} is gone, though its identity was \
                     never erased"
                ),
            }),
        }
    }

    /// Whether the log records an erasure of the complaint's identity (at any time: a
    /// state rebuilt as of an earlier instant does not know of it yet).
    pub async fn identity_erased(&self, complaint_id: &ComplaintId) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT 1 AS one FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
             AND event_type = 'IdentityErased'",
        )
        .bind(<Complaint as cqrs_es::Aggregate>::TYPE)
        .bind(complaint_id.as_str())
        .fetch_optional(&self.log.db().any)
        .await?;
        Ok(row.is_some())
    }

    /// The registrations whose complainant's identity the log holds in plain: written
    /// before identities were sealed, or adopted from a plain cqrs-es store. They cannot
    /// be sealed afterwards without breaking the hash chain; every registration since is
    /// sealed. An erasure of such a complaint hides the identity on every read, and
    /// these bytes stay. In log order.
    pub async fn plain_identities(&self) -> Result<Vec<PlainIdentity>, StoreError> {
        use futures::TryStreamExt;
        let db = self.log.db();
        let sql = format!(
            "SELECT r.aggregate_id, r.sequence, r.position, {} AS payload, \
             EXISTS (SELECT 1 FROM events e WHERE e.aggregate_type = r.aggregate_type \
             AND e.aggregate_id = r.aggregate_id AND e.event_type = 'IdentityErased') AS erased \
             FROM events r WHERE r.aggregate_type = $1 AND r.event_type = 'Received' \
             ORDER BY r.position",
            db.json_as_text("r.payload")
        );
        let mut rows = sqlx::query(&sql)
            .bind(<Complaint as cqrs_es::Aggregate>::TYPE)
            .fetch(&db.any);
        let mut plain = Vec::new();
        while let Some(row) = rows.try_next().await? {
            let complaint_id: String = row.try_get("aggregate_id")?;
            let payload: serde_json::Value =
                serde_json::from_str(&row.try_get::<String, _>("payload")?).map_err(|e| {
                    StoreError::integrity(complaint_id.as_str(), e.to_string(), None)
                })?;
            if payload["body"]["complainant"].get("sealed").is_none() {
                plain.push(PlainIdentity {
                    complaint_id,
                    sequence: crate::codec::sequence(row.try_get("sequence")?),
                    position: row.try_get("position")?,
                    erased: row
                        .try_get::<bool, _>("erased")
                        .or_else(|_| row.try_get::<i64, _>("erased").map(|n| n != 0))?,
                });
            }
        }
        Ok(plain)
    }

    /// Re-wraps every complaint's data key with a new key-encryption key, written to
    /// `new_key_file` (which must not exist), in one transaction. Afterwards the store
    /// uses the new file; keep it (and its backup) in place of the old one, and destroy
    /// the old one so that backups wrapped by it can no longer be opened.
    pub async fn rotate_key(
        &self,
        new_key_file: &std::path::Path,
    ) -> Result<KeyRotation, StoreError> {
        self.log.db().writable("rotating the key")?;
        self.log.keys().rotate(new_key_file).await
    }

    /// The retention policy: erases the identities of complaints that ended more than
    /// `years` ago, at most [`RETENTION_BATCH`] a tick (the next tick takes the rest).
    pub(super) async fn erase_retained(
        &self,
        now: DateTime<Utc>,
        years: u32,
        report: &mut TickReport,
    ) -> Result<(), StoreError> {
        let Some(cutoff) = now.checked_sub_months(chrono::Months::new(years.saturating_mul(12)))
        else {
            return Ok(());
        };
        let ended: Vec<&str> = [
            Status::Rejected,
            Status::Closed,
            Status::Archived,
            Status::Withdrawn,
            Status::Forwarded,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        let sql = format!(
            "SELECT v.complaint_id FROM complaint_views v WHERE v.status IN ('{}') \
             AND v.updated_at < $1 AND NOT EXISTS (SELECT 1 FROM events e \
             WHERE e.aggregate_type = $2 AND e.aggregate_id = v.complaint_id \
             AND e.event_type = 'IdentityErased') ORDER BY v.complaint_id LIMIT {RETENTION_BATCH}",
            ended.join("', '")
        );
        let rows = sqlx::query(&sql)
            .bind(crate::timestamp(cutoff))
            .bind(<Complaint as cqrs_es::Aggregate>::TYPE)
            .fetch_all(&self.log.db().any)
            .await?;
        for row in rows {
            let text: String = row.try_get("complaint_id")?;
            let Ok(id) = ComplaintId::new(text.as_str()) else {
                // Views hold only ids the log accepted; one that is not is a defect to
                // report, not a reason to stop the monitor.
                tracing::error!(complaint_id = %text, "a complaint view has an invalid id");
                continue;
            };
            let command = workflow_core::CommandEnvelope::new(
                format!("retention:{id}"),
                workflow_core::Actor::system(),
                now,
                workflow_core::ComplaintCommand::EraseIdentity(
                    workflow_core::complaint::command::IdentityErasure {
                        legal_basis: format!(
                            "Retensi: {years} tahun setelah aduan selesai (kebijakan retensi)"
                        ),
                    },
                ),
            );
            match self.engine.execute_by_clock(&id, command, None).await {
                Ok(done) => report.identities_erased += usize::from(!done.events.is_empty()),
                Err(StoreError::Domain(workflow_core::DomainError::IdentityAlreadyErased {
                    ..
                })) => {}
                Err(e @ StoreError::Unavailable { .. }) => return Err(e),
                Err(e) => report.failed.push((id, e.to_string())),
            }
        }
        Ok(())
    }
}
