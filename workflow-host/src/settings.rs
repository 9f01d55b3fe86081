//! `aduan calendar …` and `aduan policy …`: the settings that judge deadlines, recorded
//! in the database with their history (`workflow_store::settings`). Changing one is the
//! only way they change; showing them and their history reads only, so an auditor can
//! map the fingerprint a verdict cites (`judged_by`) to the version, who set it and when.

use std::path::Path;

use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use workflow_core::calendar::{DayEntry, HolidayTable, TimeZoneSpec};
use workflow_core::SlaPolicy;
use workflow_store::settings::{
    amended_table, builtin_fingerprint, parse_policy, SetOutcome, SettingChange, SettingKind,
};
use workflow_store::{Store, StoreError};

use crate::table::Table;

/// A version of a setting as `show`, `history` and a change answer it; `version` is
/// `None` for the built-in one (nothing recorded).
#[derive(Clone, Debug, Serialize)]
pub struct SettingAnswer {
    /// `calendar` or `policy`.
    pub kind: &'static str,
    /// 1, 2, 3…; `None`: the built-in.
    pub version: Option<u32>,
    /// What verdicts judged with it cite (`judged_by.calendar` or `judged_by.policy`).
    pub fingerprint: String,
    /// Who recorded it.
    pub changed_by: Option<String>,
    /// When.
    pub changed_at: Option<DateTime<Utc>>,
    /// Why, if they said.
    pub note: Option<String>,
}

impl SettingAnswer {
    fn of(change: &SettingChange) -> Self {
        Self {
            kind: change.kind.as_str(),
            version: Some(change.version),
            fingerprint: change.fingerprint.clone(),
            changed_by: Some(change.changed_by.clone()),
            changed_at: Some(change.changed_at),
            note: change.note.clone(),
        }
    }

    fn builtin(kind: SettingKind) -> Self {
        Self {
            kind: kind.as_str(),
            version: None,
            fingerprint: builtin_fingerprint(kind),
            changed_by: None,
            changed_at: None,
            note: None,
        }
    }

    /// `calendar version 2 (fingerprint …), set by sari on 2026-12-01 09:00 WIB: note`.
    fn headline(&self, zone: &TimeZoneSpec) -> String {
        let Some(version) = self.version else {
            let what = match self.kind {
                "calendar" => "the shipped holiday table, no amendment recorded",
                _ => "the default policy, none recorded",
            };
            return format!(
                "{} built in: {what} (fingerprint {})",
                self.kind, self.fingerprint
            );
        };
        let mut line = format!(
            "{} version {version} (fingerprint {}), set by {} on {}",
            self.kind,
            self.fingerprint,
            self.changed_by.as_deref().unwrap_or("?"),
            self.changed_at.map(|at| when(at, zone)).unwrap_or_default()
        );
        if let Some(note) = &self.note {
            line.push_str(": ");
            line.push_str(note);
        }
        line
    }
}

/// A day of the holiday table.
#[derive(Clone, Debug, Serialize)]
pub struct DayAnswer {
    /// The date.
    pub date: chrono::NaiveDate,
    /// `libur_nasional`, `cuti_bersama` or `hari_kerja`.
    pub kind: &'static str,
    /// Its name in Indonesian.
    pub name_id: String,
    /// Its name in English.
    pub name_en: String,
    /// The decree it comes from.
    pub source: String,
}

impl DayAnswer {
    fn of(e: &DayEntry) -> Self {
        Self {
            date: e.date,
            kind: e.kind.as_str(),
            name_id: e.name_id.clone(),
            name_en: e.name_en.clone(),
            source: e.source.clone(),
        }
    }
}

/// What `calendar import` and `policy set` did.
#[derive(Clone, Debug, Serialize)]
pub struct ChangeAnswer {
    /// Whether a new version was recorded (`false`: the content judges as the one in
    /// force, nothing was written).
    pub recorded: bool,
    /// The setting in force now.
    pub in_force: SettingAnswer,
    /// Complaints whose running deadlines were recomputed.
    pub recomputed: usize,
}

/// What `calendar show` answers.
#[derive(Clone, Debug, Serialize)]
pub struct CalendarAnswer {
    /// The version shown.
    pub setting: SettingAnswer,
    /// The amendment's rows, laid over the shipped table.
    pub amendment: Vec<DayAnswer>,
    /// The amendment as it was imported (`None` for the built-in).
    pub content: Option<String>,
    /// With `--year`: that year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year: Option<i32>,
    /// With `--year`: every entry of the table in force that year.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days: Option<Vec<DayAnswer>>,
}

/// What `policy show` answers.
#[derive(Clone, Debug, Serialize)]
pub struct PolicyAnswer {
    /// The version shown.
    pub setting: SettingAnswer,
    /// The policy, every field with the value that applies.
    pub policy: SlaPolicy,
    /// The policy as it was set (`None` for the built-in).
    pub content: Option<String>,
}

/// What `calendar history` and `policy history` answer.
#[derive(Clone, Debug, Serialize)]
pub struct HistoryAnswer {
    /// `calendar` or `policy`.
    pub kind: &'static str,
    /// The built-in, in force before version 1.
    pub built_in: SettingAnswer,
    /// Every recorded version, oldest first; the last is in force.
    pub versions: Vec<SettingAnswer>,
}

/// An instant as wall-clock time in `zone` with its date, `2026-12-01 09:00 WIB`.
fn when(at: DateTime<Utc>, zone: &TimeZoneSpec) -> String {
    format!(
        "{} {}",
        at.with_timezone(&zone.offset()).format("%Y-%m-%d %H:%M"),
        crate::format::zone_label(zone)
    )
}

/// The zone of the policy in force, whose times people read.
fn zone(store: &Store) -> TimeZoneSpec {
    store.engine().services().policy.time_zone.clone()
}

fn print_json(answer: &impl Serialize) -> anyhow::Result<()> {
    crate::outln!("{}", serde_json::to_string_pretty(answer)?);
    Ok(())
}

/// `calendar import` and `policy set`: records `file`'s content as user `user`.
pub async fn change(
    store: &Store,
    kind: SettingKind,
    file: &Path,
    user: &str,
    note: Option<&str>,
    json: bool,
) -> anyhow::Result<()> {
    if !workflow_core::actor::is_valid_user_name(user) {
        anyhow::bail!(
            "--as must name who makes the change: not empty, without `:`, not `sla-breach`, `auto-close` or `deemed-withdrawn`"
        );
    }
    let content = std::fs::read_to_string(file)
        .map_err(|e| anyhow::anyhow!("{}: {e}; nothing was recorded", file.display()))?;
    let outcome = store
        .set_setting(kind, &content, user, Utc::now(), note)
        .await
        .map_err(|e| match e {
            StoreError::BadSetting(_) => anyhow::anyhow!("{}: {e}", file.display()),
            other => other.into(),
        })?;
    let answer = match outcome {
        SetOutcome::Recorded { change, recomputed } => ChangeAnswer {
            recorded: true,
            in_force: SettingAnswer::of(&change),
            recomputed,
        },
        SetOutcome::Unchanged { in_force, .. } => ChangeAnswer {
            recorded: false,
            in_force: in_force
                .as_ref()
                .map_or_else(|| SettingAnswer::builtin(kind), SettingAnswer::of),
            recomputed: 0,
        },
    };
    if json {
        return print_json(&answer);
    }
    if answer.recorded {
        crate::outln!(
            "recorded {}\nrunning deadlines of {} complaint(s) recomputed",
            answer.in_force.headline(&zone(store)),
            answer.recomputed
        );
    } else {
        crate::outln!(
            "unchanged, nothing was recorded: the file judges exactly as the {} in force\n{}",
            kind,
            answer.in_force.headline(&zone(store))
        );
    }
    Ok(())
}

/// The version asked for, or the one in force; an unknown version is an error.
async fn chosen(
    store: &Store,
    kind: SettingKind,
    version: Option<u32>,
) -> anyhow::Result<Option<SettingChange>> {
    match version {
        Some(n) => match store.setting(kind, n).await? {
            Some(change) => Ok(Some(change)),
            None => {
                anyhow::bail!("{kind} version {n} is not recorded (see `aduan {kind} history`)")
            }
        },
        None => Ok(store.settings_in_force().await?.get(kind).cloned()),
    }
}

/// `calendar show`.
pub async fn show_calendar(
    store: &Store,
    version: Option<u32>,
    year: Option<i32>,
    json: bool,
) -> anyhow::Result<()> {
    let change = chosen(store, SettingKind::Calendar, version).await?;
    let (setting, amendment, table) = match &change {
        Some(c) => (
            SettingAnswer::of(c),
            HolidayTable::parse(&c.content)?,
            amended_table(&c.content)?,
        ),
        None => (
            SettingAnswer::builtin(SettingKind::Calendar),
            HolidayTable::empty(),
            HolidayTable::builtin(),
        ),
    };
    let days = year.map(|y| {
        table
            .entries()
            .filter(|e| e.date.year() == y)
            .map(DayAnswer::of)
            .collect::<Vec<_>>()
    });
    let answer = CalendarAnswer {
        setting,
        amendment: amendment.entries().map(DayAnswer::of).collect(),
        content: change.map(|c| c.content),
        year,
        days,
    };
    if json {
        return print_json(&answer);
    }
    let mut out = answer.setting.headline(&zone(store)) + "\n";
    if answer.setting.version.is_some() {
        out.push_str(&format!(
            "\nlaid over the shipped holiday table ({} row(s)):\n{}",
            answer.amendment.len(),
            days_table(&answer.amendment)
        ));
    }
    if let (Some(y), Some(days)) = (answer.year, &answer.days) {
        out.push_str(&format!(
            "\nthe table in force in {y} ({} entries; weekends are off besides):\n{}",
            days.len(),
            days_table(days)
        ));
    }
    crate::out!("{out}");
    Ok(())
}

fn days_table(days: &[DayAnswer]) -> String {
    let mut t = Table::new(&["date", "kind", "name", "source"]);
    for d in days {
        t.row(vec![
            d.date.format("%a %Y-%m-%d").to_string(),
            d.kind.to_owned(),
            d.name_id.clone(),
            d.source.clone(),
        ]);
    }
    t.render()
}

/// `policy show`.
pub async fn show_policy(store: &Store, version: Option<u32>, json: bool) -> anyhow::Result<()> {
    let change = chosen(store, SettingKind::Policy, version).await?;
    let (setting, policy) = match &change {
        Some(c) => (SettingAnswer::of(c), parse_policy(&c.content)?),
        None => (
            SettingAnswer::builtin(SettingKind::Policy),
            SlaPolicy::default(),
        ),
    };
    let answer = PolicyAnswer {
        setting,
        policy,
        content: change.map(|c| c.content),
    };
    if json {
        return print_json(&answer);
    }
    crate::outln!(
        "{}\n\n{}",
        answer.setting.headline(&zone(store)),
        serde_json::to_string_pretty(&answer.policy)?
    );
    Ok(())
}

/// `calendar history` and `policy history`.
pub async fn history(store: &Store, kind: SettingKind, json: bool) -> anyhow::Result<()> {
    let answer = HistoryAnswer {
        kind: kind.as_str(),
        built_in: SettingAnswer::builtin(kind),
        versions: store
            .settings_history(kind)
            .await?
            .iter()
            .map(SettingAnswer::of)
            .collect(),
    };
    if json {
        return print_json(&answer);
    }
    let zone = zone(store);
    let mut t = Table::new(&["version", "fingerprint", "set on", "by", "note"]);
    t.row(vec![
        "built in".into(),
        answer.built_in.fingerprint.clone(),
        String::new(),
        String::new(),
        if answer.versions.is_empty() {
            "in force".into()
        } else {
            String::new()
        },
    ]);
    for (i, v) in answer.versions.iter().enumerate() {
        let mut note = v.note.clone().unwrap_or_default();
        if i + 1 == answer.versions.len() {
            note = if note.is_empty() {
                "in force".into()
            } else {
                format!("in force; {note}")
            };
        }
        t.row(vec![
            v.version.map(|n| n.to_string()).unwrap_or_default(),
            v.fingerprint.clone(),
            v.changed_at.map(|at| when(at, &zone)).unwrap_or_default(),
            v.changed_by.clone().unwrap_or_default(),
            note,
        ]);
    }
    crate::outln!(
        "{kind} history: verdicts cite the fingerprint as judged_by.{kind}\n{}",
        t.render().trim_end()
    );
    Ok(())
}
