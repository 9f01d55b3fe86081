//! The agency registry: the agencies (OPD, UPT, Satker) the operator registered, by
//! code, with what a letterhead needs (name, address, time zone, head). A token of a
//! liaison officer or head names one of them, and the host disposes complaints only to
//! one (decision 0025). The registry is the operator's record, kept beside the log, not
//! in it: the domain never reads it, and a replay never depends on it.
//!
//! Codes are checked by [`AgencyCode::parse`]. An agency that nothing names yet can be
//! removed; once a token, a complaint, a clock, the timeline or an upload names it, it
//! can only be retired: kept for the records that name it, refused for new tokens and
//! new complaints, and reinstated by an update.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use workflow_core::calendar::TimeZoneSpec;
use workflow_core::AgencyCode;

use crate::codec::{instant, instant_opt, named};
use crate::error::{Refusal, StoreError};
use crate::store::Store;
use crate::timestamp;

/// The time zone an agency's office keeps: one of Indonesia's three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgencyZone {
    /// Waktu Indonesia Barat, UTC+7 (Kalimantan Tengah, where Kapuas is).
    #[serde(rename = "WIB")]
    Wib,
    /// Waktu Indonesia Tengah, UTC+8.
    #[serde(rename = "WITA")]
    Wita,
    /// Waktu Indonesia Timur, UTC+9.
    #[serde(rename = "WIT")]
    Wit,
}

impl AgencyZone {
    /// `WIB`, `WITA` or `WIT`.
    pub fn as_str(self) -> &'static str {
        match self {
            AgencyZone::Wib => "WIB",
            AgencyZone::Wita => "WITA",
            AgencyZone::Wit => "WIT",
        }
    }

    /// The zone as the calendar reads dates in it.
    pub fn time_zone(self) -> TimeZoneSpec {
        let name = match self {
            AgencyZone::Wib => "Asia/Jakarta",
            AgencyZone::Wita => "Asia/Makassar",
            AgencyZone::Wit => "Asia/Jayapura",
        };
        TimeZoneSpec::parse(name).unwrap_or_else(|_| TimeZoneSpec::jakarta())
    }
}

impl fmt::Display for AgencyZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgencyZone {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "WIB" => Ok(AgencyZone::Wib),
            "WITA" => Ok(AgencyZone::Wita),
            "WIT" => Ok(AgencyZone::Wit),
            other => Err(format!("unknown time zone `{other}` (WIB, WITA or WIT)")),
        }
    }
}

/// The head of an agency (Kepala OPD), to whom its BAs are addressed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyHead {
    /// The name with titles, as it is printed (`Ir. Hendra Wijaya, M.T.`).
    pub name: String,
    /// The civil servant's number (NIP): 18 digits.
    pub nip: String,
}

/// What the operator says about an agency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgencyDetails {
    /// The agency's name (`Dinas Pekerjaan Umum dan Penataan Ruang`).
    pub name: String,
    /// Its office's address, for a letterhead.
    pub address: Option<String>,
    /// The zone its office keeps.
    pub time_zone: Option<AgencyZone>,
    /// Its head.
    pub head: Option<AgencyHead>,
}

impl AgencyDetails {
    /// Just a name.
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            address: None,
            time_zone: None,
            head: None,
        }
    }

    /// Refused unless every detail is acceptable: a name, an address and a head's name
    /// that are not blank and not longer than 200 characters, an NIP of 18 digits.
    pub fn check(&self) -> Result<(), Refusal> {
        text("name", &self.name)?;
        if let Some(address) = &self.address {
            text("address", address)?;
        }
        if let Some(head) = &self.head {
            text("head name", &head.name)?;
            if head.nip.len() != 18 || !head.nip.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Refusal::AgencyDetail {
                    field: "head NIP",
                    reason: format!("`{}` is not 18 digits (write it without spaces)", head.nip),
                });
            }
        }
        Ok(())
    }
}

fn text(field: &'static str, value: &str) -> Result<(), Refusal> {
    let reason = if value.trim().is_empty() {
        "cannot be blank"
    } else if value.chars().count() > 200 {
        "is longer than 200 characters"
    } else if value.chars().any(char::is_control) {
        "cannot hold control characters (line breaks, tabs)"
    } else {
        return Ok(());
    };
    Err(Refusal::AgencyDetail {
        field,
        reason: reason.to_owned(),
    })
}

/// An agency of the registry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agency {
    /// Its code.
    pub code: AgencyCode,
    /// What the operator said about it.
    #[serde(flatten)]
    pub details: AgencyDetails,
    /// When it was registered.
    pub registered_at: DateTime<Utc>,
    /// When its details last changed.
    pub updated_at: DateTime<Utc>,
    /// When it was retired, if it is.
    pub retired_at: Option<DateTime<Utc>>,
}

/// A change to an agency's details: each `Some` replaces that detail (`Some(None)`
/// clears an optional one), `None` keeps it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AgencyChange {
    /// A new name.
    pub name: Option<String>,
    /// A new address, or none.
    pub address: Option<Option<String>>,
    /// A new time zone, or none.
    pub time_zone: Option<Option<AgencyZone>>,
    /// A new head, or none.
    pub head: Option<Option<AgencyHead>>,
    /// Take a retired agency back into service.
    pub reinstate: bool,
}

/// What [`Store::register_agency`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Registered {
    /// The agency is new in the registry.
    Added,
    /// It was registered already with exactly these details; nothing changed.
    AlreadyAsGiven,
}

/// What [`Store::remove_agency`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Removed {
    /// Nothing named it: it is gone from the registry.
    Deleted,
    /// It is retired (or was already).
    Retired,
}

const COLUMNS: &str =
    "code, name, address, time_zone, head_name, head_nip, created_at, updated_at, retired_at";

fn agency_from(row: &sqlx::any::AnyRow) -> Result<Agency, StoreError> {
    let code: String = row.try_get("code")?;
    let about = format!("agency {code}");
    let zone: Option<String> = row.try_get("time_zone")?;
    let head_name: Option<String> = row.try_get("head_name")?;
    let head_nip: Option<String> = row.try_get("head_nip")?;
    Ok(Agency {
        details: AgencyDetails {
            name: row.try_get("name")?,
            address: row.try_get("address")?,
            time_zone: zone
                .as_deref()
                .map(|z| named(&about, "time_zone", z))
                .transpose()?,
            head: match (head_name, head_nip) {
                (Some(name), Some(nip)) => Some(AgencyHead { name, nip }),
                _ => None,
            },
        },
        registered_at: instant(
            &about,
            "created_at",
            &row.try_get::<String, _>("created_at")?,
        )?,
        updated_at: instant(
            &about,
            "updated_at",
            &row.try_get::<String, _>("updated_at")?,
        )?,
        retired_at: instant_opt(
            &about,
            "retired_at",
            row.try_get::<Option<String>, _>("retired_at")?.as_deref(),
        )?,
        code: AgencyCode(code),
    })
}

impl Store {
    /// Registers an agency. Registering it again with the same details changes nothing
    /// (a script may run twice); with other details it is refused
    /// ([`Refusal::AgencyExists`]): change them with [`Store::update_agency`].
    pub async fn register_agency(
        &self,
        code: &str,
        details: &AgencyDetails,
        now: DateTime<Utc>,
    ) -> Result<Registered, StoreError> {
        self.log().db().writable("registering an agency")?;
        let code = AgencyCode::parse(code).map_err(Refusal::from)?;
        details.check()?;
        let head = details.head.as_ref();
        // Inserted, or found: a removal between the two statements (an operator's
        // verbs racing) is the only way round again.
        for _ in 0..3 {
            let inserted = sqlx::query(
                "INSERT INTO agencies (code, name, address, time_zone, head_name, head_nip, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT (code) DO NOTHING",
            )
            .bind(&code.0)
            .bind(&details.name)
            .bind(details.address.as_deref())
            .bind(details.time_zone.map(AgencyZone::as_str))
            .bind(head.map(|h| h.name.as_str()))
            .bind(head.map(|h| h.nip.as_str()))
            .bind(timestamp(now))
            .execute(&self.log().db().any)
            .await?;
            if inserted.rows_affected() == 1 {
                return Ok(Registered::Added);
            }
            match self.agency(&code).await? {
                Some(known) if known.retired_at.is_some() => {
                    return Err(Refusal::RetiredAgency(code).into())
                }
                Some(known) if &known.details == details => return Ok(Registered::AlreadyAsGiven),
                Some(_) => return Err(Refusal::AgencyExists(code).into()),
                None => continue,
            }
        }
        Err(StoreError::defect(format!(
            "agency {code} kept appearing and disappearing while it was registered"
        )))
    }

    /// Changes an agency's details (or reinstates a retired one); returns it as it is
    /// now. An unknown code is refused ([`Refusal::UnknownAgency`]).
    pub async fn update_agency(
        &self,
        code: &AgencyCode,
        change: &AgencyChange,
        now: DateTime<Utc>,
    ) -> Result<Agency, StoreError> {
        self.log().db().writable("changing an agency")?;
        let known = self
            .agency(code)
            .await?
            .ok_or_else(|| Refusal::UnknownAgency(code.clone()))?;
        let mut details = known.details.clone();
        if let Some(name) = &change.name {
            details.name.clone_from(name);
        }
        if let Some(address) = &change.address {
            details.address.clone_from(address);
        }
        if let Some(zone) = change.time_zone {
            details.time_zone = zone;
        }
        if let Some(head) = &change.head {
            details.head.clone_from(head);
        }
        details.check()?;
        let retired_at = if change.reinstate {
            None
        } else {
            known.retired_at
        };
        if details == known.details && retired_at == known.retired_at {
            return Ok(known);
        }
        let head = details.head.as_ref();
        let done = sqlx::query(
            "UPDATE agencies SET name = $2, address = $3, time_zone = $4, head_name = $5, head_nip = $6, \
             updated_at = $7, retired_at = $8 WHERE code = $1",
        )
        .bind(&code.0)
        .bind(&details.name)
        .bind(details.address.as_deref())
        .bind(details.time_zone.map(AgencyZone::as_str))
        .bind(head.map(|h| h.name.as_str()))
        .bind(head.map(|h| h.nip.as_str()))
        .bind(timestamp(now))
        .bind(retired_at.map(timestamp))
        .execute(&self.log().db().any)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Refusal::UnknownAgency(code.clone()).into());
        }
        Ok(Agency {
            code: code.clone(),
            details,
            registered_at: known.registered_at,
            updated_at: now,
            retired_at,
        })
    }

    /// Removes an agency that nothing names; one that a token, a complaint, a clock,
    /// the timeline or an upload names is refused ([`Refusal::AgencyInUse`]) unless
    /// `retire`, which keeps it for those records and refuses it new tokens and
    /// complaints from now on.
    pub async fn remove_agency(
        &self,
        code: &AgencyCode,
        retire: bool,
        now: DateTime<Utc>,
    ) -> Result<Removed, StoreError> {
        self.log().db().writable("removing an agency")?;
        if self.agency(code).await?.is_none() {
            return Err(Refusal::UnknownAgency(code.clone()).into());
        }
        if retire {
            sqlx::query(
                "UPDATE agencies SET retired_at = $2, updated_at = $2 WHERE code = $1 AND retired_at IS NULL",
            )
            .bind(&code.0)
            .bind(timestamp(now))
            .execute(&self.log().db().any)
            .await?;
            return Ok(Removed::Retired);
        }
        let uses = self.agency_uses(code).await?;
        if !uses.is_empty() {
            return Err(Refusal::AgencyInUse {
                code: code.clone(),
                uses: uses.join(", "),
            }
            .into());
        }
        // One statement checks and deletes, so a token issued since the check above
        // still keeps its agency.
        let deleted = sqlx::query(
            "DELETE FROM agencies WHERE code = $1 \
             AND NOT EXISTS (SELECT 1 FROM api_tokens WHERE agency = $1) \
             AND NOT EXISTS (SELECT 1 FROM complaint_views WHERE agency = $1)",
        )
        .bind(&code.0)
        .execute(&self.log().db().any)
        .await?;
        if deleted.rows_affected() == 0 {
            let uses = self.agency_uses(code).await?;
            return Err(Refusal::AgencyInUse {
                code: code.clone(),
                uses: uses.join(", "),
            }
            .into());
        }
        Ok(Removed::Deleted)
    }

    /// What names an agency, for people: `2 tokens`, `complaints`, …; empty if nothing.
    async fn agency_uses(&self, code: &AgencyCode) -> Result<Vec<String>, StoreError> {
        let db = &self.log().db().any;
        let tokens: i64 = sqlx::query("SELECT COUNT(*) AS n FROM api_tokens WHERE agency = $1")
            .bind(&code.0)
            .fetch_one(db)
            .await?
            .try_get("n")?;
        let mut uses = Vec::new();
        if tokens > 0 {
            uses.push(format!(
                "{tokens} token{}",
                if tokens == 1 { "" } else { "s" }
            ));
        }
        for (table, what) in [
            ("complaint_views", "complaints"),
            ("sla_deadlines", "SLA clocks"),
            ("audit_timeline", "the timeline"),
            ("evidence_uploads", "uploads of evidence"),
        ] {
            let found = sqlx::query(&format!(
                "SELECT 1 AS found FROM {table} WHERE agency = $1 LIMIT 1"
            ))
            .bind(&code.0)
            .fetch_optional(db)
            .await?;
            if found.is_some() {
                uses.push(what.to_owned());
            }
        }
        Ok(uses)
    }

    /// The agency of a code, retired or not: for a letterhead, a listing, a check.
    pub async fn agency(&self, code: &AgencyCode) -> Result<Option<Agency>, StoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM agencies WHERE code = $1"))
            .bind(&code.0)
            .fetch_optional(&self.log().db().any)
            .await?;
        row.as_ref().map(agency_from).transpose()
    }

    /// Every registered agency, retired ones too, by code.
    pub async fn agencies(&self) -> Result<Vec<Agency>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM agencies ORDER BY code"))
            .fetch_all(&self.log().db().any)
            .await?;
        rows.iter().map(agency_from).collect()
    }

    /// The agency a new token or a new disposition names, checked: a well-formed code
    /// ([`Refusal::AgencyCode`]), registered ([`Refusal::UnknownAgency`]) and not retired
    /// ([`Refusal::RetiredAgency`]).
    pub async fn active_agency(&self, code: &str) -> Result<Agency, StoreError> {
        let code = AgencyCode::parse(code).map_err(Refusal::from)?;
        match self.agency(&code).await? {
            None => Err(Refusal::UnknownAgency(code).into()),
            Some(a) if a.retired_at.is_some() => Err(Refusal::RetiredAgency(code).into()),
            Some(a) => Ok(a),
        }
    }
}
