//! Read views and the SLA monitor on both backends.

use crate::support::{dispose, register, request_information, review};
use workflow_store::{both, testing as common};

use std::sync::Arc;

use chrono::Duration;
use workflow_core::fixtures::*;
use workflow_core::sla::assess;
use workflow_core::{SlaPolicy, Status, StepStatus, WorkingCalendar};
use workflow_store::settings::{SetOutcome, SettingKind};
use workflow_store::views::{BoardStatus, ComplaintFilter};
use workflow_store::{Store, Views};

/// Twelve complaints registered an hour apart from Monday 30 November; the even ones
/// disposed to PUPR, every third of those reviewed.
async fn seed(store: &Store) {
    let mut steps = Vec::new();
    for i in 0..12 {
        let id = format!("ADU-{i:02}");
        let at = format!("2026-11-30 {:02}:00", 8 + i);
        steps.push(register(&id, &at));
        if i % 2 == 0 {
            steps.push(dispose(&id, &at, "PUPR"));
        }
        if i % 6 == 0 {
            steps.push(review(&id, &at, "PUPR", complete_review()));
        }
    }
    common::play(store, steps).await;
    store.projector().catch_up().await.unwrap();
}

/// The complaints `filter` lists, in the list's order (one page).
async fn ids(views: &Views, filter: ComplaintFilter) -> Vec<String> {
    let page = views.list(&filter).await.unwrap();
    page.items
        .iter()
        .map(|s| s.complaint_id.to_string())
        .collect()
}

async fn the_list_filters_and_pages_newest_first(db: common::TestDb) {
    let store = db.open().await;
    seed(&store).await;
    let views = store.views();
    let all = views
        .list(&ComplaintFilter {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.items.len(), 12);
    assert_eq!(all.items[0].complaint_id, "ADU-11", "newest first");
    assert!(all.next.is_none());

    // Pages of five walk the same list without overlap.
    let mut paged = Vec::new();
    let mut after = None;
    loop {
        let page = views
            .list(&ComplaintFilter {
                limit: Some(5),
                after: after.clone(),
                ..Default::default()
            })
            .await
            .unwrap();
        paged.extend(page.items.iter().map(|s| s.complaint_id.clone()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(
        paged,
        all.items
            .iter()
            .map(|s| s.complaint_id.clone())
            .collect::<Vec<_>>()
    );

    // Each filter alone.
    let pupr = ComplaintFilter {
        agency: Some("PUPR".into()),
        ..Default::default()
    };
    assert_eq!(ids(views, pupr).await.len(), 6);
    let reviewed = ComplaintFilter {
        status: Some(Status::Reviewed),
        ..Default::default()
    };
    assert_eq!(ids(views, reviewed).await, ["ADU-06", "ADU-00"]);
    let officer = ComplaintFilter {
        liaison_officer: Some("penghubung.pupr".into()),
        ..Default::default()
    };
    assert_eq!(ids(views, officer).await.len(), 6);
    let window = ComplaintFilter {
        from: Some(wib("2026-11-30 10:00")),
        to: Some(wib("2026-11-30 12:00")),
        ..Default::default()
    };
    assert_eq!(ids(views, window).await, ["ADU-03", "ADU-02"]);
    // Disposition is due Thursday 3 December: on Friday the undisposed ones are overdue.
    let overdue = ComplaintFilter {
        overdue_at: Some(wib("2026-12-04 09:00")),
        limit: Some(100),
        ..Default::default()
    };
    assert_eq!(
        ids(views, overdue).await.len(),
        12,
        "disposition or review overdue for all"
    );
    let not_yet = ComplaintFilter {
        overdue_at: Some(wib("2026-12-02 09:00")),
        ..Default::default()
    };
    assert!(ids(views, not_yet).await.is_empty());
    let bad = views
        .list(&ComplaintFilter {
            after: Some("garbage".into()),
            ..Default::default()
        })
        .await;
    assert!(matches!(bad, Err(workflow_store::StoreError::BadCursor(_))));
}
both!(list, the_list_filters_and_pages_newest_first);

async fn the_sla_board_agrees_with_replaying_every_complaint(db: common::TestDb) {
    let store = db.open().await;
    seed(&store).await;
    let calendar = WorkingCalendar::builtin();
    let policy = SlaPolicy::default();
    // The board is about now: every instant asked lies after the last command.
    for now in [
        "2026-11-30 20:00",
        "2026-12-01 09:00",
        "2026-12-02 09:00",
        "2026-12-03 23:00",
        "2026-12-04 00:01",
        "2026-12-09 09:00",
    ] {
        let now = wib(now);
        let mut expected = Vec::new();
        for i in 0..12 {
            let id = format!("ADU-{i:02}");
            let state = store.engine().load(&cid(&id)).await.unwrap();
            for a in assess(state.timeline(), &calendar, &policy, now) {
                let status = match a.status {
                    StepStatus::Breached => BoardStatus::Breached,
                    StepStatus::AtRisk => BoardStatus::AtRisk,
                    StepStatus::OnTrack => BoardStatus::OnTrack,
                    StepStatus::Paused => BoardStatus::Paused,
                    StepStatus::Done | StepStatus::Elapsed => continue,
                };
                if a.step.is_breachable() {
                    expected.push((id.clone(), a.step.as_str().to_owned(), status));
                }
            }
        }
        expected.sort();
        let mut board: Vec<_> = store
            .views()
            .sla_board(now, None, None)
            .await
            .unwrap()
            .into_iter()
            .map(|e| {
                (
                    e.complaint_id.to_string(),
                    e.step.as_str().to_owned(),
                    e.status,
                )
            })
            .collect();
        board.sort();
        assert_eq!(board, expected, "at {now}");
        for status in [
            BoardStatus::Breached,
            BoardStatus::AtRisk,
            BoardStatus::OnTrack,
        ] {
            let only = store
                .views()
                .sla_board(now, Some(status), None)
                .await
                .unwrap();
            let want = expected.iter().filter(|e| e.2 == status).count();
            assert_eq!(only.len(), want, "{status:?} at {now}");
        }
    }
    // A first page is the head of the whole board, in the same order.
    let friday = wib("2026-12-04 09:00");
    let all = store
        .views()
        .sla_board(friday, Some(BoardStatus::Breached), None)
        .await
        .unwrap();
    let first = store
        .views()
        .sla_board_first(friday, Some(BoardStatus::Breached), None, Some(5))
        .await
        .unwrap();
    assert_eq!(first.len(), 5);
    assert_eq!(first[..], all[..5]);
    let workload = store
        .views()
        .workload(wib("2026-12-04 09:00"))
        .await
        .unwrap();
    assert_eq!(workload.len(), 1);
    assert_eq!(workload[0].agency, "PUPR".into());
    assert_eq!(workload[0].open, 6);
    assert_eq!(workload[0].by_status[&workflow_core::Status::Disposed], 4);
    assert_eq!(workload[0].overdue, 6, "step 2 of every PUPR complaint");
}
both!(
    sla_board,
    the_sla_board_agrees_with_replaying_every_complaint
);

async fn the_monitor_records_each_breach_once(db: common::TestDb) {
    let store = Arc::new(db.open().await);
    seed(&store).await;
    let friday = wib("2026-12-04 09:00");
    // Two hosts' monitors at once: each breach is still recorded once.
    let (a, b) = tokio::join!(store.sla_tick(friday), store.sla_tick(friday));
    let recorded = a.unwrap().breaches_recorded + b.unwrap().breaches_recorded;
    // Six undisposed complaints breach disposition; the six at PUPR breach step 2, which
    // runs until the clarification (two were reviewed but not clarified).
    assert_eq!(recorded, 12);
    store.projector().catch_up().await.unwrap();
    let again = store.sla_tick(friday).await.unwrap();
    assert_eq!(again.breaches_recorded, 0);
    assert_eq!(again.complaints, 0, "the index no longer lists them");
    let board = store
        .views()
        .sla_board(friday, Some(BoardStatus::Breached), None)
        .await
        .unwrap();
    assert_eq!(board.len(), 12);
    assert!(board.iter().all(|e| e.breach_recorded));
}
both!(monitor, the_monitor_records_each_breach_once);

async fn an_amended_holiday_table_moves_running_deadlines(db: common::TestDb) {
    let store = db.open().await;
    seed(&store).await;
    let amendment = "date,kind,name_id,name_en,source\n2026-12-02,cuti_bersama,Cuti Bersama Tambahan,Extra leave,SKB perubahan\n";
    let outcome = store
        .set_setting(
            SettingKind::Calendar,
            amendment,
            "sari",
            wib("2026-12-01 08:00"),
            None,
        )
        .await
        .unwrap();
    assert!(
        matches!(outcome, SetOutcome::Recorded { recomputed: 12, .. }),
        "{outcome:?}"
    );
    // Thursday late evening: with the extra day off, disposition is due Friday instead.
    let thursday_night = wib("2026-12-03 23:59") + Duration::seconds(30);
    let friday_noon = wib("2026-12-04 12:00");
    assert!(store
        .views()
        .sla_board(thursday_night, Some(BoardStatus::Breached), None)
        .await
        .unwrap()
        .is_empty());
    let breached = store
        .views()
        .sla_board(wib("2026-12-05 00:01"), Some(BoardStatus::Breached), None)
        .await
        .unwrap();
    assert_eq!(breached.len(), 12);
    assert!(store
        .views()
        .sla_board(friday_noon, Some(BoardStatus::AtRisk), None)
        .await
        .unwrap()
        .iter()
        .all(|e| e
            .due_at
            .unwrap()
            .to_rfc3339()
            .starts_with("2026-12-04T16:59:59")));
}
both!(recompute, an_amended_holiday_table_moves_running_deadlines);

/// The board in pages: the same order on both backends (deadline, complaint, step, run;
/// paused duties last), every duty once, and a cursor that is not one is refused.
async fn the_board_pages_through_every_duty_once(db: common::TestDb) {
    let store = db.open().await;
    seed(&store).await;
    // One complaint waits for the complainant: its review clock has no deadline.
    review(
        "ADU-02",
        "2026-12-01 08:00",
        "PUPR",
        incomplete_but_clear_review(),
    )
    .execute(&store, "ADU-02-review")
    .await
    .unwrap();
    request_information("ADU-02", "2026-12-01 09:00", "PUPR")
        .execute(&store, "ADU-02-ask")
        .await
        .unwrap();
    store.projector().catch_up().await.unwrap();
    let now = wib("2026-12-04 09:00");
    let mut expected = store.views().sla_board(now, None, None).await.unwrap();
    assert!(
        expected.iter().any(|e| e.due_at.is_none()),
        "a paused duty: {expected:?}"
    );
    expected.sort_by(|a, b| {
        (
            a.due_at.is_none(),
            &a.due_at,
            &a.complaint_id,
            a.step.as_str(),
            a.occurrence,
        )
            .cmp(&(
                b.due_at.is_none(),
                &b.due_at,
                &b.complaint_id,
                b.step.as_str(),
                b.occurrence,
            ))
    });
    for status in [None, Some(BoardStatus::Paused), Some(BoardStatus::Breached)] {
        let mut walked = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..100 {
            let page = store
                .views()
                .sla_board_page(now, status, None, after.as_deref(), 3)
                .await
                .unwrap();
            assert!(page.items.len() <= 3);
            walked.extend(page.items);
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        let want: Vec<_> = expected
            .iter()
            .filter(|e| status.is_none_or(|s| e.status == s))
            .cloned()
            .collect();
        assert!(!want.is_empty(), "{status:?}");
        assert_eq!(walked, want, "{status:?}");
    }
    assert!(matches!(
        store
            .views()
            .sla_board_page(now, None, None, Some("zz"), 3)
            .await,
        Err(workflow_store::StoreError::BadCursor(_))
    ));
}
both!(board_pages, the_board_pages_through_every_duty_once);
