//! How events, instants and clocks are shown to people.

use chrono::{DateTime, Datelike, Utc};
use cqrs_es::EventEnvelope;
use workflow_core::complaint::command::ClosingReason;
use workflow_core::sla::StepAssessment;
use workflow_core::{Complaint, ComplaintEvent, EventBody, TimeZoneSpec};

use crate::table::Table;

/// The table of SLA clocks, a row per clock run, of the complaints given.
pub fn sla_table<'a>(
    zone: &TimeZoneSpec,
    clocks: impl IntoIterator<Item = (&'a str, &'a [StepAssessment])>,
) -> Table {
    let mut t = Table::new(&[
        "complaint",
        "step",
        "run",
        "started",
        "due",
        "status",
        "note",
    ]);
    for (id, runs) in clocks {
        for a in runs {
            t.row(sla_row(zone, id, a));
        }
    }
    t
}

/// One row of an SLA clock table.
fn sla_row(zone: &TimeZoneSpec, id: &str, a: &StepAssessment) -> Vec<String> {
    let mut note = Vec::new();
    if a.paused_days > 0 {
        note.push(format!("+{} day(s) waiting for complainant", a.paused_days));
    }
    if a.late && a.ended_at.is_some() {
        note.push("completed late".into());
    }
    if a.breach_annulled {
        note.push("breach annulled".into());
    } else if a.breach_recorded {
        note.push("breach recorded".into());
    }
    vec![
        id.to_owned(),
        a.step.to_string(),
        a.occurrence.to_string(),
        local(a.started_at, zone),
        a.due_date.format("%a %d %b").to_string(),
        a.status.as_str().to_owned(),
        note.join("; "),
    ]
}

/// The short name people know a zone by: WIB, WITA, WIT; otherwise its name.
pub fn zone_label(zone: &TimeZoneSpec) -> String {
    match zone.offset().local_minus_utc() {
        25_200 if zone.name().starts_with("Asia/") || zone.name() == "+07:00" => "WIB".into(),
        28_800 if zone.name().starts_with("Asia/") || zone.name() == "+08:00" => "WITA".into(),
        32_400 if zone.name().starts_with("Asia/") || zone.name() == "+09:00" => "WIT".into(),
        _ => zone.name().to_owned(),
    }
}

/// The months in Indonesian, January first.
pub const BULAN: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// The days of the week in Indonesian, Monday first.
pub const HARI: [&str; 7] = [
    "Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu",
];

/// A date as Indonesian prose: `3 Desember 2026`.
pub fn tanggal(d: chrono::NaiveDate) -> String {
    format!("{} {} {}", d.day(), BULAN[d.month0() as usize], d.year())
}

/// Its day of the week in Indonesian: `Kamis`.
pub fn hari(d: chrono::NaiveDate) -> &'static str {
    HARI[d.weekday().num_days_from_monday() as usize]
}

/// The zones of the agencies whose office keeps its own (registry), by code.
pub async fn agency_zones(
    store: &workflow_store::Store,
) -> Result<
    std::collections::HashMap<workflow_core::AgencyCode, TimeZoneSpec>,
    workflow_store::StoreError,
> {
    Ok(store
        .agencies()
        .await?
        .into_iter()
        .filter_map(|a| Some((a.code, a.details.time_zone?.time_zone())))
        .collect())
}

/// An instant in the agency's own zone when it keeps another than `zone`, named then
/// (`Fri 11 Dec 23:59 WITA`); in `zone` otherwise.
pub fn local_for(
    at: DateTime<Utc>,
    zone: &TimeZoneSpec,
    agency_zone: Option<&TimeZoneSpec>,
) -> String {
    match agency_zone {
        Some(own) if own.offset() != zone.offset() => {
            format!("{} {}", local(at, own), zone_label(own))
        }
        _ => local(at, zone),
    }
}

/// An instant as wall-clock time in `zone`, `Mon 30 Nov 09:00` (the zone is named
/// where the instants are introduced: a table's heading, a line's start).
pub fn local(at: DateTime<Utc>, zone: &TimeZoneSpec) -> String {
    let t = at.with_timezone(&zone.offset());
    format!(
        "{} {:02} {} {}",
        t.format("%a"),
        t.day(),
        t.format("%b"),
        t.format("%H:%M")
    )
}

/// One line saying what an event did.
pub fn describe(e: &ComplaintEvent, zone: &TimeZoneSpec) -> String {
    match &e.body {
        EventBody::Received(r) => format!("{} from LAPOR!, category {}", r.lapor_id, r.category),
        EventBody::Imported(i) => match (&i.channel, i.disposed_at) {
            (_, Some(disposed)) => format!(
                "imported from LAPOR! ({}), disposed there {}",
                i.lapor_status.as_str(),
                local(disposed, zone)
            ),
            (Some(channel), None) => format!(
                "imported from LAPOR! ({}, via {channel})",
                i.lapor_status.as_str()
            ),
            (None, None) => format!("imported from LAPOR! ({})", i.lapor_status.as_str()),
        },
        EventBody::Disposed(d) => match &d.sub_unit {
            Some(unit) => format!("to {} / {unit} (liaison {})", d.agency, d.liaison_officer),
            None => format!("to {} (liaison {})", d.agency, d.liaison_officer),
        },
        EventBody::Returned(r) => format!("returned: {}", r.reason),
        EventBody::Reviewed(r) => match (r.complete, r.clear) {
            (true, true) => "complete and clear".into(),
            (true, false) => format!("complete, unclear: {}", r.notes),
            (false, clear) => format!(
                "incomplete{}: {}",
                if clear { ", clear" } else { " and unclear" },
                r.missing_items.join(", ")
            ),
        },
        EventBody::Rejected(r) => r.reason.clone(),
        EventBody::InformationRequested(q) => q.questions.join(" "),
        EventBody::InformationProvided(a) => a.answer.clone(),
        EventBody::Clarified(c) => format!(
            "field examination {}: {}",
            if c.field_examination_needed {
                "needed"
            } else {
                "not needed"
            },
            c.reasoning
        ),
        EventBody::FieldVerified(v) => format!(
            "visit {}, {} evidence item(s): {}",
            v.visit_date,
            v.evidence.len(),
            v.findings
        ),
        EventBody::BaIssued(ba) => format!("{} to {}", ba.number, ba.addressee.position),
        EventBody::Responded(r) => r.response.clone(),
        EventBody::Closed(c) => {
            let reason = match c.reason {
                ClosingReason::Settled => "settled",
                ClosingReason::NoFeedback => "no feedback",
                ClosingReason::NotReopened => "not reopened",
            };
            match &c.note {
                Some(note) => format!("closed ({reason}): {note}"),
                None => format!("closed ({reason})"),
            }
        }
        EventBody::ProgressReported(p) => format!("progress: {}", p.text),
        EventBody::FeedbackReceived(f) => format!(
            "{}: {}",
            if f.satisfied {
                "satisfied"
            } else {
                "not satisfied"
            },
            f.text
        ),
        EventBody::Reopened(r) => format!("reopened: {}", r.reason),
        EventBody::Reassigned(r) => format!("reassigned to {}: {}", r.liaison_officer, r.reason),
        EventBody::BreachAnnulled(b) => {
            format!(
                "{} breach (run {}) annulled: {}",
                b.step, b.occurrence, b.reason
            )
        }
        EventBody::IdentityErased(e) => {
            format!("identity erased (dihapus sesuai UU PDP): {}", e.legal_basis)
        }
        EventBody::ReturnsEscalated(e) => {
            format!("returned {} times: the coordinator decides", e.returns)
        }
        EventBody::SlaBreached(b) => {
            format!("{} deadline {} passed", b.step, local(b.due_at, zone))
        }
        EventBody::Archived(a) => match &a.duplicate_of {
            Some(original) => format!("archived: duplicate of {original}"),
            None => format!(
                "archived: {}",
                serde_json::to_value(a.reason)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        },
        EventBody::Withdrawn(w) => format!("withdrawn: {}", w.note),
        EventBody::Forwarded(f) => format!("forwarded to {}", f.institution),
        EventBody::BaAcknowledged(a) => match &a.note {
            Some(note) => format!("BA acknowledged by the head: {note}"),
            None => "BA acknowledged by the head".into(),
        },
        EventBody::DeemedWithdrawn(w) => {
            format!("deemed withdrawn: no answer by {}", local(w.due_at, zone))
        }
    }
}

/// A complaint's events as an aligned table: sequence, when, who, what.
pub fn timeline_table(events: &[EventEnvelope<Complaint>], zone: &TimeZoneSpec) -> String {
    let when = format!("when ({})", zone_label(zone));
    let mut t = Table::new(&["seq", &when, "by", "event", "what"]);
    for e in events {
        t.row(vec![
            e.sequence.to_string(),
            local(e.payload.at, zone),
            format!("{} ({})", e.payload.by.user, e.payload.by.role),
            e.payload.body.event_type().to_owned(),
            describe(&e.payload, zone),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_shown_in_the_policys_zone_under_its_name() {
        let at: DateTime<Utc> = "2026-12-01T01:30:00Z".parse().unwrap();
        let wita = TimeZoneSpec::parse("Asia/Makassar").unwrap();
        assert_eq!(
            (local(at, &wita), zone_label(&wita)),
            ("Tue 01 Dec 09:30".to_owned(), "WITA".to_owned())
        );
        let wib = TimeZoneSpec::jakarta();
        assert_eq!(
            (local(at, &wib), zone_label(&wib)),
            ("Tue 01 Dec 08:30".to_owned(), "WIB".to_owned())
        );
        let wit = TimeZoneSpec::parse("Asia/Jayapura").unwrap();
        assert_eq!(zone_label(&wit), "WIT");
        assert_eq!(zone_label(&TimeZoneSpec::parse("UTC").unwrap()), "UTC");
    }
}
