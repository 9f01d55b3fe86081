//! The read-side and operator verbs: replay, status, resume, and the read-only sla and
//! history.

use chrono::{DateTime, Utc};
use serde_json::json;
use workflow_store::views::BoardStatus;
use workflow_store::Store;

use crate::format::{local, sla_table, timeline_table, zone_label};
use crate::table::Table;

/// Rebuilds one or all projections, showing progress on stderr.
pub async fn replay(store: &Store, only: Option<&str>, json: bool) -> anyhow::Result<()> {
    let names: Vec<&str> = match only {
        Some(name) => vec![name],
        None => store.projector().names(),
    };
    let mut results = Vec::new();
    for name in names {
        // Counted in events: those through the log's head when the replay began (a
        // replay complaint by complaint reaches the head only at its end).
        let mut progress = crate::progress::Progress::new(format!("replay {name}"), "events");
        let replayed = store
            .projector()
            .rebuild(name, |p| progress.update(p.events, p.total.max(p.events)))
            .await;
        let applied = match replayed {
            Ok(applied) => applied,
            // The projections before this one are rebuilt: say so with the error.
            Err(e) if !results.is_empty() => {
                let done: Vec<&str> = results
                    .iter()
                    .filter_map(|r: &serde_json::Value| r["projection"].as_str())
                    .collect();
                return Err(anyhow::Error::new(e).context(format!(
                    "{name} failed (already rebuilt: {})",
                    done.join(", ")
                )));
            }
            Err(e) => return Err(e.into()),
        };
        progress.finish();
        results.push(json!({ "projection": name, "events": applied }));
    }
    if json {
        crate::outln!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for r in results {
            crate::outln!(
                "rebuilt {} from {} events",
                r["projection"].as_str().unwrap_or(""),
                r["events"]
            );
        }
    }
    Ok(())
}

/// Prints the SLA board at `at`: from the views when they are current, otherwise from
/// the log (writing nothing either way).
pub async fn sla(
    store: &Store,
    status: Option<BoardStatus>,
    at: DateTime<Utc>,
    json: bool,
) -> anyhow::Result<()> {
    let board = store.sla_board(at, status, None).await?;
    let zone = store.engine().services().policy.time_zone.clone();
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&json!({ "as_of": at, "entries": board }))?
        );
        return Ok(());
    }
    let zones = crate::format::agency_zones(store).await?;
    let mut t = Table::new(&[
        "complaint",
        "agency",
        "step",
        "run",
        "started",
        "due",
        "status",
        "breach",
    ]);
    for e in &board {
        // An agency whose office keeps another zone sees its own times.
        let own = e.agency.as_ref().and_then(|a| zones.get(a));
        t.row(vec![
            e.complaint_id.to_string(),
            e.agency
                .as_ref()
                .map_or_else(|| "-".into(), ToString::to_string),
            e.step.to_string(),
            e.occurrence.to_string(),
            crate::format::local_for(e.started_at, &zone, own),
            e.due_at.map_or_else(
                || "(paused)".into(),
                |due| crate::format::local_for(due, &zone, own),
            ),
            e.status.as_str().to_owned(),
            if e.breach_recorded {
                "recorded".into()
            } else {
                String::new()
            },
        ]);
    }
    crate::outln!(
        "SLA board as of {} {}: {} running duties\n{}",
        local(at, &zone),
        zone_label(&zone),
        board.len(),
        t.render()
    );
    Ok(())
}

/// Whether `aduan history` opens the complainant's identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryReader {
    /// Shown as hidden (the default).
    Hiding,
    /// Opened for this user, the read recorded first.
    Revealing(String),
}

/// The CLI's route name in `identity-reads`.
const HISTORY_ROUTE: &str = "aduan history --reveal-identity";

/// Prints a complaint's state and timeline as of an instant, from the log alone; the
/// complainant's identity (with `--json`) only for a reader who asked, recorded.
pub async fn history(
    store: &Store,
    id: &str,
    as_of: DateTime<Utc>,
    reader: HistoryReader,
    json: bool,
) -> anyhow::Result<()> {
    let h = store.history(&id.parse()?, as_of).await?;
    if json {
        let as_reader = match reader {
            HistoryReader::Hiding => crate::read_model::Reader::Hiding,
            HistoryReader::Revealing(_) => crate::read_model::Reader::Operator,
        };
        let complainant = crate::read_model::ComplainantView::resolve(
            store,
            &h.complaint_id,
            &h.state,
            as_reader,
        )
        .await?;
        // An opened identity is a read of personal data: recorded before it is shown,
        // and not shown if it cannot be recorded.
        if let (
            HistoryReader::Revealing(user),
            Some(crate::read_model::ComplainantView::Shown(_)),
        ) = (&reader, &complainant)
        {
            let operator = workflow_core::Actor::new(user.clone(), workflow_core::Role::System);
            store
                .record_identity_read(&operator, &h.complaint_id, HISTORY_ROUTE, Utc::now())
                .await?;
        }
        let out = crate::read_model::HistoryAnswer::new(&h, complainant.as_ref());
        crate::outln!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let title = h
        .state
        .registration()
        .map(|r| r.title.as_str())
        .unwrap_or("");
    let zone = store.engine().services().policy.time_zone.clone();
    crate::outln!(
        "{id}: {title}\nstate as of {} {}: {} ({} of {} events)\n",
        local(as_of, &zone),
        zone_label(&zone),
        h.state.status(),
        h.events.len(),
        h.total_events
    );
    crate::outln!("{}", timeline_table(&h.events, &zone));
    let t = sla_table(&zone, [(id, h.sla.as_slice())]);
    crate::outln!(
        "SLA clocks as of {} {}\n{}",
        local(as_of, &zone),
        zone_label(&zone),
        t.render()
    );
    Ok(())
}

/// Where the store stands: the log's head, each projection's place, lag and error, the
/// complaints a projection set aside, and whether a write goes through now. Exits
/// non-zero when anything needs an operator.
pub async fn status(store: &Store, json: bool) -> anyhow::Result<()> {
    let head = store.log().head().await?;
    // Bring the views up to date first, so that lag means "cannot", not "has not yet".
    let caught_up = store.projector().catch_up().await;
    let projections = store.projector().status().await?;
    let parked = store.projector().parked().await?;
    let write = store.probe_write().await;
    let healthy = write.is_ok()
        && caught_up.is_ok()
        && parked.is_empty()
        && projections
            .iter()
            .all(|p| p.last_error.is_none() && p.lag == 0);
    if json {
        crate::outln!(
            "{}",
            serde_json::to_string_pretty(&json!({
                "ok": healthy,
                "backend": format!("{:?}", store.backend()).to_lowercase(),
                "head": head,
                "write": match &write { Ok(()) => json!({"ok": true}), Err(e) => json!({"ok": false, "error": e.to_string()}) },
                "projections": projections.iter().map(|p| json!({
                    "name": p.name, "position": p.position, "lag": p.lag,
                    "updated_at": p.updated_at, "last_error": p.last_error,
                })).collect::<Vec<_>>(),
                "parked": parked.iter().map(|p| json!({
                    "projection": p.projection, "complaint_id": p.complaint_id, "position": p.position,
                    "sequence": p.sequence, "reason": p.reason, "parked_at": p.parked_at,
                })).collect::<Vec<_>>(),
            }))?
        );
    } else {
        crate::outln!("backend: {:?}; log head: position {head}", store.backend());
        match &write {
            Ok(()) => crate::outln!("write: ok (a probe write was committed)"),
            Err(e) => crate::outln!("write: FAILING: {e}"),
        }
        let mut table = Table::new(&["projection", "position", "lag", "updated", "error"]);
        for p in &projections {
            table.row(vec![
                p.name.clone(),
                p.position.to_string(),
                p.lag.to_string(),
                p.updated_at
                    .map(workflow_store::timestamp)
                    .unwrap_or_default(),
                p.last_error.clone().unwrap_or_else(|| "-".into()),
            ]);
        }
        crate::out!("{}", table.render());
        if !parked.is_empty() {
            crate::outln!(
                "parked complaints (an event cannot be read; fix it, e.g. with an upcaster, then `aduan resume ID`):"
            );
            let mut table =
                Table::new(&["projection", "complaint", "position", "sequence", "reason"]);
            for p in &parked {
                table.row(vec![
                    p.projection.clone(),
                    p.complaint_id.clone(),
                    p.position.to_string(),
                    p.sequence.to_string(),
                    p.reason.clone(),
                ]);
            }
            crate::out!("{}", table.render());
        }
    }
    if healthy {
        Ok(())
    } else {
        anyhow::bail!("the store needs attention (see above)")
    }
}

/// Takes a parked complaint back into the projections that set it aside.
pub async fn resume(store: &Store, id: &str, json: bool) -> anyhow::Result<()> {
    let n = store.projector().resume(&id.parse()?).await?;
    if json {
        crate::outln!("{}", json!({ "complaint_id": id, "projections": n }));
    } else {
        eprintln!("{id}: projected again in {n} projection(s)");
    }
    Ok(())
}

/// `aduan erase-identity`: records the erasure as UPP user `user` and destroys the key.
/// A second erasure changes nothing and says when the first was.
pub async fn erase_identity(
    store: &Store,
    id: &str,
    reason: &str,
    user: &str,
    json: bool,
) -> anyhow::Result<()> {
    use workflow_core::complaint::command::IdentityErasure;
    use workflow_core::{Actor, CommandEnvelope, ComplaintCommand, DomainError, Role};
    let id: workflow_core::ComplaintId = id.parse()?;
    let command = CommandEnvelope::new(
        format!("erase-identity:{id}:{}", Utc::now().timestamp_micros()),
        Actor::new(user, Role::Upp),
        Utc::now(),
        ComplaintCommand::EraseIdentity(IdentityErasure {
            legal_basis: reason.to_owned(),
        }),
    );
    let (erased_at, now) = match store.engine().execute_by_clock(&id, command, None).await {
        Ok(done) => (
            done.events
                .first()
                .map(|e| e.payload.at)
                .unwrap_or_else(Utc::now),
            true,
        ),
        Err(workflow_store::StoreError::Domain(DomainError::IdentityAlreadyErased {
            erased_at,
        })) => (erased_at, false),
        Err(e) => return Err(e.into()),
    };
    if json {
        crate::outln!(
            "{}",
            json!({ "complaint_id": id, "erased_at": erased_at, "erased_now": now })
        );
    } else if now {
        crate::outln!(
            "{id}: the complainant's identity is erased ({}); its key is destroyed",
            crate::read_model::ERASED_NOTE
        );
    } else {
        crate::outln!(
            "{id}: the complainant's identity was already erased at {} {}; nothing changed",
            local(erased_at, &store.engine().services().policy.time_zone),
            zone_label(&store.engine().services().policy.time_zone)
        );
    }
    Ok(())
}

/// `aduan key rotate`.
pub async fn rotate_key(
    store: &Store,
    new_file: &std::path::Path,
    json: bool,
) -> anyhow::Result<()> {
    let rotation = store.rotate_key(new_file).await?;
    if json {
        crate::outln!(
            "{}",
            json!({ "keys": rotation.keys, "old_key": rotation.old_key, "new_key": rotation.new_key, "key_file": new_file })
        );
    } else {
        crate::outln!(
            "{} complaint key(s) re-wrapped: key {} replaced by {} in {}.\nRun aduan with --kek-file {} from now on, back that file up, and destroy the old one.",
            rotation.keys,
            rotation.old_key,
            rotation.new_key,
            new_file.display(),
            new_file.display()
        );
    }
    Ok(())
}

/// `aduan plain-identities`: the registrations that hold an identity in plain.
pub async fn plain_identities(store: &Store, json: bool) -> anyhow::Result<()> {
    let plain = store.plain_identities().await?;
    if json {
        let rows: Vec<_> = plain
            .iter()
            .map(|p| json!({"complaint_id": p.complaint_id, "sequence": p.sequence, "position": p.position, "erased": p.erased}))
            .collect();
        crate::outln!("{}", json!({ "plain": rows }));
        return Ok(());
    }
    if plain.is_empty() {
        crate::outln!("every registration in the log holds its complainant's identity sealed");
        return Ok(());
    }
    let mut t = Table::new(&["complaint", "sequence", "position", "erased"]);
    for p in &plain {
        t.row(vec![
            p.complaint_id.clone(),
            p.sequence.to_string(),
            p.position.to_string(),
            if p.erased {
                "yes (hidden on every read)"
            } else {
                "no"
            }
            .into(),
        ]);
    }
    crate::outln!(
        "{} registration(s) hold the complainant's identity in plain: written before identities\nwere sealed, they cannot be sealed now without breaking the hash chain (docs/privacy.md).\n{}",
        plain.len(),
        t.render()
    );
    Ok(())
}
