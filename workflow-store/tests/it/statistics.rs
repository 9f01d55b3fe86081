//! What the boards of the head of an agency and the coordinator read: BAs waiting for
//! the head, returns escalated to the coordinator, an agency's open work, breaches not
//! annulled, the board narrowed to a step, and a month's figures, against numbers
//! worked out by hand from a known history.

use workflow_core::complaint::command::{
    BaAcknowledgement, BreachAnnulment, BreachReport, Closure, ComplaintCommand as C,
};
use workflow_core::fixtures::*;
use workflow_core::Step;
use workflow_store::testing::{self as common, step, Step as Scripted};
use workflow_store::views::{BoardStatus, StepDays};
use workflow_store::{both, Store};

/// Registered at `at`, reported to LAPOR! at the same instant (so step 1 counts from it).
fn register_at(id: &str, at: &str) -> Scripted {
    let mut r = registration();
    r.reported_at = wib(at);
    step(id, at, upp(), C::Register(r))
}

fn dispose(id: &str, at: &str, agency: &str) -> Scripted {
    step(id, at, upp(), C::Dispose(disposition(agency)))
}

fn by(id: &str, at: &str, agency: &str, command: C) -> Scripted {
    step(id, at, liaison(agency), command)
}

fn breach(id: &str, at: &str, of: Step) -> Scripted {
    let report = BreachReport {
        step: of,
        occurrence: None,
    };
    step(id, at, system(), C::RecordSlaBreach(report))
}

/// Up to a BA issued on `ba_day` (09:00 WIB), from a registration on Monday 7 December.
fn to_ba(id: &str, agency: &str, ba_day: &str) -> Vec<Scripted> {
    vec![
        register_at(id, "2026-12-07 09:00"),
        dispose(id, "2026-12-07 10:00", agency),
        by(id, "2026-12-07 11:00", agency, C::Review(complete_review())),
        by(
            id,
            "2026-12-07 12:00",
            agency,
            C::Clarify(clarification(true)),
        ),
        by(
            id,
            "2026-12-08 09:00",
            agency,
            C::VerifyInField(field_visit("2026-12-08")),
        ),
        by(
            id,
            &format!("{ba_day} 10:00"),
            agency,
            C::IssueBa(berita_acara(agency, ba_day)),
        ),
    ]
}

/// The history the figures below are worked out from (all WIB; no holiday from 30
/// November to 11 December 2026; three working days per step):
///
/// - A (PUPR): registered Mon 30 Nov, disposed Tue 1 Dec (1 working day), reviewed Wed
///   2 Dec, clarified Thu 3 Dec (review: 2), answered Mon 7 Dec (response: 2), closed
///   Tue 8 Dec with nothing late: settled on time in December.
/// - B (PUPR): disposed Mon 30 Nov (0), the review's breach recorded Fri 4 Dec,
///   clarified Mon 7 Dec (review: 5, late), answered Tue 8 Dec (response: 1), closed
///   Wed 9 Dec: closed, not on time.
/// - C (PUPR): disposed Mon 30 Nov, never reviewed; its breach recorded Fri 4 Dec and
///   annulled Wed 9 Dec.
/// - D (PUPR): registered and disposed Tue 8 Dec: its review is due Fri 11 Dec.
/// - E, F (PUPR), G (DINKES): registered Mon 7 Dec, field visit Tue 8 Dec, BA on 8 Dec
///   (E, G: field verification 1 day) or 9 Dec (F: 2 days); F's BA acknowledged.
/// - H: returned three times on Mon 30 Nov (escalated); I: returned once.
fn history() -> Vec<Scripted> {
    let mut s = vec![
        register_at("ADU-A", "2026-11-30 09:00"),
        dispose("ADU-A", "2026-12-01 09:00", "PUPR"),
        by(
            "ADU-A",
            "2026-12-02 09:00",
            "PUPR",
            C::Review(complete_review()),
        ),
        by(
            "ADU-A",
            "2026-12-03 09:00",
            "PUPR",
            C::Clarify(clarification(false)),
        ),
        by(
            "ADU-A",
            "2026-12-07 09:00",
            "PUPR",
            C::Respond(response_text()),
        ),
        step(
            "ADU-A",
            "2026-12-08 09:00",
            upp(),
            C::RecordFeedback(feedback(true)),
        ),
        step(
            "ADU-A",
            "2026-12-08 10:00",
            upp(),
            C::Close(Closure::default()),
        ),
        register_at("ADU-B", "2026-11-30 09:00"),
        dispose("ADU-B", "2026-11-30 10:00", "PUPR"),
        breach("ADU-B", "2026-12-04 08:00", Step::Review),
        by(
            "ADU-B",
            "2026-12-04 09:00",
            "PUPR",
            C::Review(complete_review()),
        ),
        by(
            "ADU-B",
            "2026-12-07 09:00",
            "PUPR",
            C::Clarify(clarification(false)),
        ),
        by(
            "ADU-B",
            "2026-12-08 09:00",
            "PUPR",
            C::Respond(response_text()),
        ),
        step(
            "ADU-B",
            "2026-12-09 09:00",
            upp(),
            C::RecordFeedback(feedback(true)),
        ),
        step(
            "ADU-B",
            "2026-12-09 10:00",
            upp(),
            C::Close(Closure::default()),
        ),
        register_at("ADU-C", "2026-11-30 09:00"),
        dispose("ADU-C", "2026-11-30 10:00", "PUPR"),
        breach("ADU-C", "2026-12-04 08:00", Step::Review),
        step(
            "ADU-C",
            "2026-12-09 09:00",
            coordinator(),
            C::AnnulBreach(BreachAnnulment {
                step: Step::Review,
                occurrence: 1,
                reason: "Banjir menutup akses".into(),
            }),
        ),
        register_at("ADU-D", "2026-12-08 10:00"),
        dispose("ADU-D", "2026-12-08 11:00", "PUPR"),
    ];
    s.extend(to_ba("ADU-E", "PUPR", "2026-12-08"));
    s.extend(to_ba("ADU-F", "PUPR", "2026-12-09"));
    s.push(step(
        "ADU-F",
        "2026-12-09 11:00",
        head("PUPR"),
        C::AcknowledgeBa(BaAcknowledgement { note: None }),
    ));
    s.extend(to_ba("ADU-G", "DINKES", "2026-12-08"));
    s.extend([
        register_at("ADU-H", "2026-11-30 09:00"),
        dispose("ADU-H", "2026-11-30 10:00", "DINKES"),
        by(
            "ADU-H",
            "2026-11-30 11:00",
            "DINKES",
            C::ReturnForRedisposition(return_note()),
        ),
        dispose("ADU-H", "2026-11-30 12:00", "DISHUB"),
        by(
            "ADU-H",
            "2026-11-30 13:00",
            "DISHUB",
            C::ReturnForRedisposition(return_note()),
        ),
        dispose("ADU-H", "2026-11-30 14:00", "PUPR"),
        by(
            "ADU-H",
            "2026-11-30 15:00",
            "PUPR",
            C::ReturnForRedisposition(return_note()),
        ),
        register_at("ADU-I", "2026-11-30 09:00"),
        dispose("ADU-I", "2026-11-30 10:00", "DINKES"),
        by(
            "ADU-I",
            "2026-11-30 11:00",
            "DINKES",
            C::ReturnForRedisposition(return_note()),
        ),
    ]);
    s
}

async fn seeded(db: &common::TestDb) -> Store {
    let store = db.open().await;
    common::play(&store, history()).await;
    store.projector().catch_up().await.unwrap();
    store
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> String) -> Vec<String> {
    items.iter().map(id).collect()
}

fn days(steps: &[StepDays]) -> Vec<(&'static str, i64, i64)> {
    steps
        .iter()
        .map(|s| (s.step.as_str(), s.runs, s.working_days))
        .collect()
}

both!(boards, the_boards_read_what_the_history_says);
async fn the_boards_read_what_the_history_says(db: common::TestDb) {
    let store = seeded(&db).await;
    let views = store.views();
    let now = wib("2026-12-11 10:00");

    // The BAs each head has not acknowledged: F's was; G's is DINKES's.
    let waiting = views.bas_waiting("PUPR", None, 50).await.unwrap();
    assert_eq!(
        ids(&waiting.items, |s| s.complaint_id.to_string()),
        ["ADU-E"]
    );
    let waiting = views.bas_waiting("DINKES", None, 50).await.unwrap();
    assert_eq!(
        ids(&waiting.items, |s| s.complaint_id.to_string()),
        ["ADU-G"]
    );

    // The third return reaches the coordinator; a first does not.
    let escalated = views.escalated_returns(None, 50).await.unwrap();
    assert_eq!(
        ids(&escalated.items, |s| s.complaint_id.to_string()),
        ["ADU-H"]
    );

    // PUPR's open work: C, D, E, F (A and B closed, H returned to nobody); C past its
    // review's deadline; D (review due today), E (response due today) and F (response
    // due Monday, one working day left) at risk.
    let counts = views.agency_counts("PUPR", now).await.unwrap();
    assert_eq!(
        (counts.open, counts.breached, counts.at_risk),
        (4, 1, 3),
        "{counts:?}"
    );

    // Breaches to decide: B's; C's was annulled.
    let breaches = views.open_breaches(None, None, 50).await.unwrap();
    assert_eq!(
        ids(&breaches.items, |b| format!(
            "{} {} {}",
            b.complaint_id, b.step, b.occurrence
        )),
        ["ADU-B review 1"]
    );
    assert!(views
        .open_breaches(Some("DINKES"), None, 50)
        .await
        .unwrap()
        .items
        .is_empty());

    // The board narrowed to step 2: C's and D's running reviews, paged one by one.
    let page = views
        .sla_board_page_of(now, None, Some("PUPR"), Some(Step::Review), None, 1)
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |e| e.complaint_id.to_string()), ["ADU-C"]);
    let rest = views
        .sla_board_page_of(
            now,
            None,
            Some("PUPR"),
            Some(Step::Review),
            page.next.as_deref(),
            1,
        )
        .await
        .unwrap();
    assert_eq!(ids(&rest.items, |e| e.complaint_id.to_string()), ["ADU-D"]);
    assert!(rest.next.is_none());
    let late = views
        .sla_board_page_of(
            now,
            Some(BoardStatus::Breached),
            None,
            Some(Step::Review),
            None,
            50,
        )
        .await
        .unwrap();
    assert_eq!(ids(&late.items, |e| e.complaint_id.to_string()), ["ADU-C"]);

    // December for PUPR: received D, E, F; A settled on time; B's breach; working days
    // per step of the runs that ended in December.
    let (dec, jan) = (wib("2026-12-01 00:00"), wib("2027-01-01 00:00"));
    let december = views.span_figures(Some("PUPR"), dec, jan).await.unwrap();
    assert_eq!(
        (
            december.received,
            december.settled_on_time,
            december.breached
        ),
        (3, 1, 1),
        "{december:?}"
    );
    assert_eq!(
        days(&december.steps),
        [
            // A 1, D, E, F 0 (B's and C's ended in November).
            ("disposition", 4, 1),
            // A 2, B 5, E and F 0.
            ("review", 4, 7),
            // E 1, F 2.
            ("field_verification", 2, 3),
            // A 2, B 1.
            ("response", 2, 3),
        ]
    );
    assert_eq!(december.steps[1].average(), Some(1.75));

    // November for PUPR: A, B, C registered; B's and C's dispositions the same day.
    let november = views
        .span_figures(Some("PUPR"), wib("2026-11-01 00:00"), dec)
        .await
        .unwrap();
    assert_eq!(
        (
            november.received,
            november.settled_on_time,
            november.breached
        ),
        (3, 0, 0),
        "{november:?}"
    );
    assert_eq!(november.steps[0].runs, 2);
    assert_eq!(november.steps[0].working_days, 0);

    // Every agency in December: G registered too; its field visit and disposition.
    let all = views.span_figures(None, dec, jan).await.unwrap();
    assert_eq!(all.received, 4, "{all:?}");
    assert_eq!(all.steps[2].runs, 3, "{all:?}");
}

both!(runs_after_a_replay, the_runs_are_the_same_after_a_replay);
/// The clock runs are a view like the others: a rebuild from the log gives them again.
async fn the_runs_are_the_same_after_a_replay(db: common::TestDb) {
    let store = seeded(&db).await;
    let (dec, jan) = (wib("2026-12-01 00:00"), wib("2027-01-01 00:00"));
    let before = store.views().span_figures(None, dec, jan).await.unwrap();
    store
        .projector()
        .rebuild("complaints", |_| {})
        .await
        .unwrap();
    let after = store.views().span_figures(None, dec, jan).await.unwrap();
    assert_eq!(before, after);
    assert_eq!(after.settled_on_time, 1);
}
