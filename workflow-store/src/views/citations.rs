//! Which complaints cite a blob of evidence, and as what. The complaints projection keeps
//! the table in the same batch as the views, so a command's citations can be read as
//! soon as its answer has gone; and it keeps every citation the log ever made, also those
//! the complaint's state forgets (an information reply's attachments, the field visits of
//! an earlier disposition) (decision 0022).

use serde::{Deserialize, Serialize};
use sqlx::Row;
use workflow_core::{ComplaintId, EventBody};

use super::Views;
use crate::codec::named;
use crate::error::StoreError;

/// Where in a complaint a blob is cited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CitationKind {
    /// An attachment of the registration: it may show the complainant.
    Registration,
    /// An attachment of the complainant's reply to a request for information.
    Information,
    /// A photo or scan of a field visit.
    FieldVisit,
}

impl CitationKind {
    /// The stable name stored in `evidence_citations.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            CitationKind::Registration => "registration",
            CitationKind::Information => "information",
            CitationKind::FieldVisit => "field_visit",
        }
    }
}

impl std::str::FromStr for CitationKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "registration" => Ok(CitationKind::Registration),
            "information" => Ok(CitationKind::Information),
            "field_visit" => Ok(CitationKind::FieldVisit),
            other => Err(format!("unknown citation kind `{other}`")),
        }
    }
}

/// A complaint citing a blob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Citation {
    /// The complaint.
    pub complaint_id: ComplaintId,
    /// As what.
    pub kind: CitationKind,
}

/// The blobs an event cites, by SHA-256.
pub(crate) fn cited_by(body: &EventBody) -> Vec<(&str, CitationKind)> {
    let (refs, kind) = match body {
        EventBody::Received(r) => (&r.attachments, CitationKind::Registration),
        EventBody::InformationProvided(i) => (&i.attachments, CitationKind::Information),
        EventBody::FieldVerified(v) => (&v.evidence, CitationKind::FieldVisit),
        _ => return Vec::new(),
    };
    refs.iter().map(|e| (e.sha256.as_str(), kind)).collect()
}

impl Views {
    /// The complaints that cite a blob, by complaint id and kind.
    pub async fn citations(&self, sha256: &str) -> Result<Vec<Citation>, StoreError> {
        let rows = sqlx::query(
            "SELECT complaint_id, kind FROM evidence_citations WHERE sha256 = $1 ORDER BY complaint_id, kind",
        )
        .bind(sha256)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("complaint_id")?;
                Ok(Citation {
                    kind: named(&id, "kind", &row.try_get::<String, _>("kind")?)?,
                    complaint_id: named(&id, "complaint_id", &id)?,
                })
            })
            .collect()
    }
}
