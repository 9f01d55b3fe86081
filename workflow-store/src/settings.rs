//! The operator's settings that judge deadlines, kept in the database with their
//! history: the holiday table amendment (`calendar`, CSV laid over the shipped table)
//! and the SLA policy (`policy`, JSON). Every change is a row of `settings_history`,
//! numbered 1, 2, 3… per kind, with its content, the fingerprint verdicts cite
//! ([`JudgedBy`](workflow_core::sla::JudgedBy)), who made it, when and why. The newest
//! row of a kind is in force; with none, the shipped holiday table and
//! [`SlaPolicy::default`] are (decision 0024).
//!
//! What it touches: [`Store::open`] takes the settings in force from here
//! ([`SettingsSource::Stored`]) before the engine is built; the engine and the projector
//! judge with them through `in_force`, which follows a change made by another process;
//! a change recomputes the running deadlines (`Store::recompute_in`) in the
//! transaction that records it. Nothing else writes the table, and no open writes it.
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use chrono::{TimeZone, Utc};
//! use workflow_store::settings::{SetOutcome, SettingKind, SettingsSource};
//! use workflow_store::Store;
//!
//! # if cfg!(not(feature = "sqlite")) { return Ok(()); } // this example opens a file
//! # let dir = std::env::temp_dir().join(format!("aduan-settings-doc-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir).unwrap();
//! # let url = format!("sqlite://{}", dir.join("aduan.db").display());
//! let store = Store::open(&url, SettingsSource::Stored).await?;
//! let at = Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap(); // your clock
//! let csv = "date,kind,name_id,name_en,source\n\
//!            2026-12-22,cuti_bersama,Cuti Bersama Tambahan,Extra leave,SKB perubahan\n";
//! let outcome = store
//!     .set_setting(SettingKind::Calendar, csv, "sari", at, Some("SKB perubahan"))
//!     .await?;
//! let SetOutcome::Recorded { change, .. } = outcome else { panic!("a new setting") };
//! assert_eq!(change.version, 1);
//! // The engine judges with it from now on, and so does every process on the database.
//! assert_eq!(store.engine().services().calendar.table().version(), change.fingerprint);
//! // The same content again records nothing.
//! let again = store.set_setting(SettingKind::Calendar, csv, "sari", at, None).await?;
//! assert!(matches!(again, SetOutcome::Unchanged { .. }));
//! // A file that does not parse is refused, naming the line; nothing is written.
//! let bad = store.set_setting(SettingKind::Calendar, "date,kind,name_id,name_en,source\n2026-13-01,x\n", "sari", at, None).await;
//! assert!(bad.unwrap_err().to_string().contains("line 2"));
//! assert_eq!(store.settings_history(SettingKind::Calendar).await?.len(), 1);
//! # store.close().await;
//! # std::fs::remove_dir_all(&dir).unwrap();
//! # Ok::<(), workflow_store::StoreError>(())
//! # }).unwrap();
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use workflow_core::calendar::CalendarError;
use workflow_core::{ComplaintServices, HolidayTable, SlaPolicy, WorkingCalendar};

use crate::error::StoreError;
use crate::store::Store;
use crate::timestamp;

mod in_force;
pub(crate) use in_force::{InForce, Versions};

/// Where a store takes the holiday calendar and SLA policy it judges deadlines with.
///
/// `Store::open(url, services)` with a [`ComplaintServices`] is
/// [`SettingsSource::Fixed`]; say [`SettingsSource::Stored`] to take the database's.
#[derive(Clone, Debug, Default)]
pub enum SettingsSource {
    /// The settings recorded in the database (the shipped holiday table and the default
    /// policy where none is recorded). Every process on the database judges alike, and
    /// follows a change another one records: its engine looks before each command, its
    /// projector in each batch, its SLA monitor at each tick. A writable open
    /// recomputes running deadlines only when they were computed with other settings
    /// than these (an upgrade that ships a new holiday table, say). What `aduan` uses.
    #[default]
    Stored,
    /// These services, whatever the database records: they win in this process, for
    /// the verdicts its commands record and the deadlines its projector writes. They are
    /// never written to the database and an open never recomputes deadlines with them;
    /// [`Store::recompute_deadlines`] does, when asked. For tests, and for an embedding
    /// service that is the database's only writer; otherwise record the settings
    /// ([`Store::set_setting`]) and open with [`SettingsSource::Stored`].
    Fixed(ComplaintServices),
}

impl From<ComplaintServices> for SettingsSource {
    fn from(services: ComplaintServices) -> Self {
        SettingsSource::Fixed(services)
    }
}

/// Which setting.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SettingKind {
    /// The holiday table amendment: CSV (`date,kind,name_id,name_en,source`) laid over
    /// the shipped table ([`HolidayTable::amended_by`]).
    Calendar,
    /// The SLA policy: JSON ([`SlaPolicy`]).
    Policy,
}

impl SettingKind {
    /// Both kinds.
    pub const ALL: [SettingKind; 2] = [SettingKind::Calendar, SettingKind::Policy];

    /// The name stored in `settings_history.kind`.
    pub fn as_str(self) -> &'static str {
        match self {
            SettingKind::Calendar => "calendar",
            SettingKind::Policy => "policy",
        }
    }
}

impl fmt::Display for SettingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SettingKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("`{s}` is not a setting (calendar or policy)"))
    }
}

/// One recorded change of a setting: a row of its history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingChange {
    /// Which setting.
    pub kind: SettingKind,
    /// Its number among the changes of this kind: 1, 2, 3…
    pub version: u32,
    /// The fingerprint verdicts judged with it cite: the amended table's
    /// [`HolidayTable::version`], or the policy's [`SlaPolicy::version`].
    pub fingerprint: String,
    /// The content as it was given: the amendment's CSV, the policy's JSON.
    pub content: String,
    /// Who made the change.
    pub changed_by: String,
    /// When.
    pub changed_at: DateTime<Utc>,
    /// Why, if they said.
    pub note: Option<String>,
}

/// What [`Store::set_setting`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SetOutcome {
    /// Recorded as a new version, now in force; the running deadlines of `recomputed`
    /// complaints were recomputed in the same transaction.
    Recorded {
        /// The row written.
        change: SettingChange,
        /// How many complaints with running deadlines were recomputed.
        recomputed: usize,
    },
    /// The content judges exactly as the setting in force (the same fingerprint):
    /// nothing was recorded and no deadline changed.
    Unchanged {
        /// The change in force, or `None` when the built-in one is.
        in_force: Option<SettingChange>,
        /// The fingerprint in force.
        fingerprint: String,
    },
}

/// The settings in force.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsInForce {
    /// The newest calendar change; `None`: the shipped holiday table alone.
    pub calendar: Option<SettingChange>,
    /// The newest policy change; `None`: [`SlaPolicy::default`].
    pub policy: Option<SettingChange>,
}

impl SettingsInForce {
    /// The newest change of a kind.
    pub fn get(&self, kind: SettingKind) -> Option<&SettingChange> {
        match kind {
            SettingKind::Calendar => self.calendar.as_ref(),
            SettingKind::Policy => self.policy.as_ref(),
        }
    }
}

/// Why a setting was refused; nothing was recorded.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    /// The holiday table amendment does not parse (the error names the line).
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    /// The policy is not an SLA policy's JSON (the error names line and column).
    #[error("SLA policy: {0}")]
    Policy(#[source] serde_json::Error),
    /// No one is named as making the change.
    #[error("a setting is changed by someone: name them")]
    NoAuthor,
}

/// The holiday table an amendment makes: the shipped table with it laid over.
pub fn amended_table(amendment: &str) -> Result<HolidayTable, SettingError> {
    Ok(HolidayTable::builtin().amended_by(&HolidayTable::parse(amendment)?))
}

/// The policy a JSON text gives; a field it does not know is refused.
pub fn parse_policy(json: &str) -> Result<SlaPolicy, SettingError> {
    serde_json::from_str(json).map_err(SettingError::Policy)
}

/// The services a calendar amendment and a policy make: the shipped table and the
/// default policy where `None`.
pub fn services_from(
    calendar: Option<&str>,
    policy: Option<&str>,
) -> Result<ComplaintServices, SettingError> {
    let table = match calendar {
        Some(csv) => amended_table(csv)?,
        None => HolidayTable::builtin(),
    };
    let policy = match policy {
        Some(json) => parse_policy(json)?,
        None => SlaPolicy::default(),
    };
    Ok(ComplaintServices {
        calendar: Arc::new(WorkingCalendar::new(table)),
        policy: Arc::new(policy),
    })
}

/// The fingerprint of a setting's content, checked: what verdicts judged with it cite.
pub fn fingerprint(kind: SettingKind, content: &str) -> Result<String, SettingError> {
    Ok(match kind {
        SettingKind::Calendar => amended_table(content)?.version(),
        SettingKind::Policy => parse_policy(content)?.version(),
    })
}

/// The fingerprint of a kind's built-in (no change recorded).
pub fn builtin_fingerprint(kind: SettingKind) -> String {
    match kind {
        SettingKind::Calendar => HolidayTable::builtin().version(),
        SettingKind::Policy => SlaPolicy::default().version(),
    }
}

/// The fingerprint of a calendar and policy together, kept in `settings` beside the
/// deadlines computed with them (key `sla_basis`).
pub(crate) fn basis(services: &ComplaintServices) -> String {
    let policy = serde_json::to_string(services.policy.as_ref()).unwrap_or_default();
    let digest = Sha256::digest(format!("{}|{policy}", services.calendar.table().version()));
    crate::chain::hex(&digest[..8])
}

const COLUMNS: &str = "kind, version, content, fingerprint, changed_by, changed_at, note";

fn change_of(row: &sqlx::any::AnyRow) -> Result<SettingChange, StoreError> {
    let kind: String = row.try_get("kind")?;
    let version: i64 = row.try_get("version")?;
    let what = format!("setting {kind} version {version}");
    let unreadable = |reason: String| StoreError::Backend {
        reason: format!("{what} cannot be read: {reason}"),
        source: None,
    };
    let changed_at: String = row.try_get("changed_at")?;
    let changed_at = DateTime::parse_from_rfc3339(&changed_at)
        .map_err(|e| unreadable(format!("changed_at `{changed_at}`: {e}")))?
        .with_timezone(&Utc);
    Ok(SettingChange {
        kind: kind.parse().map_err(unreadable)?,
        version: u32::try_from(version).map_err(|e| unreadable(e.to_string()))?,
        content: row.try_get("content")?,
        fingerprint: row.try_get("fingerprint")?,
        changed_by: row.try_get("changed_by")?,
        changed_at,
        note: row.try_get("note")?,
    })
}

/// The newest version of each kind (0 where none is recorded).
pub(crate) async fn versions(conn: &mut AnyConnection) -> Result<Versions, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, MAX(version) AS version FROM settings_history GROUP BY kind ORDER BY kind",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut versions = Versions::default();
    for row in rows {
        let kind: String = row.try_get("kind")?;
        let version: i64 = row.try_get("version")?;
        let version = u32::try_from(version).unwrap_or(u32::MAX);
        match kind.parse::<SettingKind>() {
            Ok(SettingKind::Calendar) => versions.calendar = version,
            Ok(SettingKind::Policy) => versions.policy = version,
            Err(reason) => return Err(StoreError::defect(reason)),
        }
    }
    Ok(versions)
}

async fn newest(
    conn: &mut AnyConnection,
    kind: SettingKind,
) -> Result<Option<SettingChange>, StoreError> {
    sqlx::query(&format!(
        "SELECT {COLUMNS} FROM settings_history WHERE kind = $1 ORDER BY version DESC LIMIT 1"
    ))
    .bind(kind.as_str())
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| change_of(&row))
    .transpose()
}

async fn in_force(conn: &mut AnyConnection) -> Result<SettingsInForce, StoreError> {
    Ok(SettingsInForce {
        calendar: newest(conn, SettingKind::Calendar).await?,
        policy: newest(conn, SettingKind::Policy).await?,
    })
}

/// The services the settings in force make, and their versions.
pub(crate) async fn load(
    conn: &mut AnyConnection,
) -> Result<(ComplaintServices, Versions), StoreError> {
    let settings = in_force(conn).await?;
    let versions = Versions {
        calendar: settings.calendar.as_ref().map_or(0, |c| c.version),
        policy: settings.policy.as_ref().map_or(0, |c| c.version),
    };
    let services = services_from(
        settings.calendar.as_ref().map(|c| c.content.as_str()),
        settings.policy.as_ref().map(|c| c.content.as_str()),
    )
    .map_err(|e| StoreError::Backend {
        reason: format!("the settings in force ({versions}) cannot be read: {e}"),
        source: Some(Box::new(e)),
    })?;
    Ok((services, versions))
}

impl Store {
    /// Records a new version of a setting, if it changes anything, and recomputes the
    /// running deadlines with it in the same transaction. The content is checked first:
    /// an amendment that does not parse or a policy that does not deserialize is
    /// refused with [`StoreError::BadSetting`] and nothing is written. Content that
    /// judges exactly as the setting in force (the same fingerprint) records nothing:
    /// [`SetOutcome::Unchanged`]. Concurrent changes are numbered one after the other.
    ///
    /// A store opened with [`SettingsSource::Stored`] judges with the new setting at
    /// once, and every other such store on the database before its next command,
    /// projection batch or SLA tick; one opened with fixed services keeps them.
    pub async fn set_setting(
        &self,
        kind: SettingKind,
        content: &str,
        changed_by: &str,
        at: DateTime<Utc>,
        note: Option<&str>,
    ) -> Result<SetOutcome, StoreError> {
        let db = self.log().db();
        db.writable("changing a setting")?;
        if changed_by.trim().is_empty() {
            return Err(SettingError::NoAuthor.into());
        }
        let fingerprint = fingerprint(kind, content)?;
        let mut tx = db.begin_writing(&db.any).await?;
        // The complaints projection's checkpoint is the lock that orders changes of
        // settings, recomputations and projection batches (which judge deadlines).
        crate::projection::lock_checkpoint(db, &mut tx, "complaints").await?;
        // Appends are conditional on the settings they were judged with being the
        // newest. On PostgreSQL an append checks that in its statement's snapshot, so a
        // change committing between that snapshot and the append's commit would let a
        // verdict of the old settings in after the new ones: appends wait for this
        // change instead (and then fail their condition), or it waits for them.
        // SQLite's single writer orders the two already.
        if db.kind == crate::backend::BackendKind::Postgres {
            sqlx::query("LOCK TABLE events IN SHARE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let current = newest(&mut tx, kind).await?;
        let fingerprint_in_force = current
            .as_ref()
            .map_or_else(|| builtin_fingerprint(kind), |c| c.fingerprint.clone());
        if fingerprint == fingerprint_in_force {
            tx.rollback().await?;
            return Ok(SetOutcome::Unchanged {
                in_force: current,
                fingerprint,
            });
        }
        let change = SettingChange {
            kind,
            version: current.as_ref().map_or(1, |c| c.version + 1),
            fingerprint,
            content: content.to_owned(),
            changed_by: changed_by.trim().to_owned(),
            changed_at: at,
            note: note
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        };
        sqlx::query(&format!(
            "INSERT INTO settings_history ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        ))
        .bind(kind.as_str())
        .bind(i64::from(change.version))
        .bind(&change.content)
        .bind(&change.fingerprint)
        .bind(&change.changed_by)
        .bind(timestamp(change.changed_at))
        .bind(&change.note)
        .execute(&mut *tx)
        .await?;
        let (services, versions) = load(&mut tx).await?;
        let recomputed = Self::recompute_in(&mut tx, &services).await?;
        tx.commit().await?;
        self.in_force().install(services, versions);
        Ok(SetOutcome::Recorded { change, recomputed })
    }

    /// The settings in force: the newest change of each kind.
    pub async fn settings_in_force(&self) -> Result<SettingsInForce, StoreError> {
        in_force(&mut *self.pool().acquire().await?).await
    }

    /// Every recorded change of a kind, oldest first.
    pub async fn settings_history(
        &self,
        kind: SettingKind,
    ) -> Result<Vec<SettingChange>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM settings_history WHERE kind = $1 ORDER BY version"
        ))
        .bind(kind.as_str())
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(change_of)
        .collect()
    }

    /// One recorded version of a setting.
    pub async fn setting(
        &self,
        kind: SettingKind,
        version: u32,
    ) -> Result<Option<SettingChange>, StoreError> {
        sqlx::query(&format!(
            "SELECT {COLUMNS} FROM settings_history WHERE kind = $1 AND version = $2"
        ))
        .bind(kind.as_str())
        .bind(i64::from(version))
        .fetch_optional(self.pool())
        .await?
        .map(|row| change_of(&row))
        .transpose()
    }

    /// Takes up a change of the settings recorded by another process now, rather than
    /// at the next command, batch or tick; returns whether anything changed. A store
    /// opened with fixed services has nothing to follow.
    pub async fn refresh_settings(&self) -> Result<bool, StoreError> {
        let before = self.in_force().versions();
        self.in_force().refresh().await?;
        Ok(self.in_force().versions() != before)
    }
}
