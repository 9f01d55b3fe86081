//! The settings that judge deadlines are data with a history: each change numbered per
//! kind, checked before it is written, recomputing running deadlines in its own
//! transaction; every store opened on the database's settings judges with the newest,
//! and no open changes them.

use chrono::{DateTime, Utc};
use workflow_core::calendar::{CalendarError, HolidayTable};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::{ComplaintServices, SlaPolicy, Step};
use workflow_store::settings::{SetOutcome, SettingError, SettingKind, SettingsSource};
use workflow_store::testing::TestDb;
use workflow_store::{both, Store, StoreError};

use crate::support::register;

/// 2 December off: a complaint reported on Monday 30 November, due on Thursday
/// 3 December, is due on Friday 4 December instead.
const EXTRA_DAY_OFF: &str = "date,kind,name_id,name_en,source\n\
    2026-12-02,cuti_bersama,Cuti Bersama Tambahan,Extra leave,SKB perubahan\n";
/// The same day off, and 3 December too.
const TWO_DAYS_OFF: &str = "date,kind,name_id,name_en,source\n\
    2026-12-02,cuti_bersama,Cuti Bersama Tambahan,Extra leave,SKB perubahan\n\
    2026-12-03,cuti_bersama,Cuti Bersama Tambahan,Extra leave,SKB perubahan\n";
/// The default policy with five working days for the disposition.
const SLOWER_DISPOSITION: &str = r#"{"steps": {"disposition": {"days": 5, "count": "working_days"}},
    "at_risk_days": 1, "time_zone": "Asia/Jakarta"}"#;

fn at(day: u32) -> DateTime<Utc> {
    wib(&format!("2026-12-{day:02} 09:00"))
}

async fn stored(db: &TestDb) -> Store {
    Store::open(&db.url, SettingsSource::Stored).await.unwrap()
}

/// When the disposition of `id` is due, as the SLA board in the views has it.
async fn disposition_due(store: &Store, id: &str) -> String {
    let board = store
        .views()
        .sla_board(wib("2026-11-30 12:00"), None, None)
        .await
        .unwrap();
    let entry = board
        .iter()
        .find(|e| e.complaint_id.as_str() == id && e.step == Step::Disposition)
        .unwrap_or_else(|| panic!("{id} on the board: {board:?}"));
    entry.due_at.unwrap().to_rfc3339()
}

fn recorded(outcome: SetOutcome) -> (workflow_store::settings::SettingChange, usize) {
    match outcome {
        SetOutcome::Recorded { change, recomputed } => (change, recomputed),
        other => panic!("expected a new version: {other:?}"),
    }
}

async fn changes_are_numbered_per_kind_with_who_when_and_why(db: TestDb) {
    let store = stored(&db).await;
    let (first, _) = recorded(
        store
            .set_setting(
                SettingKind::Calendar,
                EXTRA_DAY_OFF,
                "sari",
                at(1),
                Some("SKB perubahan"),
            )
            .await
            .unwrap(),
    );
    let (second, _) = recorded(
        store
            .set_setting(SettingKind::Calendar, TWO_DAYS_OFF, "budi", at(2), None)
            .await
            .unwrap(),
    );
    let (policy, _) = recorded(
        store
            .set_setting(SettingKind::Policy, SLOWER_DISPOSITION, "sari", at(3), None)
            .await
            .unwrap(),
    );
    assert_eq!((first.version, second.version, policy.version), (1, 2, 1));
    let amended = HolidayTable::builtin().amended_by(&HolidayTable::parse(TWO_DAYS_OFF).unwrap());
    assert_eq!(second.fingerprint, amended.version());
    assert_ne!(first.fingerprint, second.fingerprint);
    let slower: SlaPolicy = serde_json::from_str(SLOWER_DISPOSITION).unwrap();
    assert_eq!(policy.fingerprint, slower.version());

    let history = store.settings_history(SettingKind::Calendar).await.unwrap();
    assert_eq!(history, vec![first.clone(), second.clone()]);
    assert_eq!(history[0].changed_by, "sari");
    assert_eq!(history[0].changed_at, at(1));
    assert_eq!(history[0].note.as_deref(), Some("SKB perubahan"));
    assert_eq!(history[0].content, EXTRA_DAY_OFF);
    assert_eq!(history[1].note, None);
    let in_force = store.settings_in_force().await.unwrap();
    assert_eq!(in_force.calendar, Some(second.clone()));
    assert_eq!(in_force.policy, Some(policy.clone()));
    assert_eq!(
        store.setting(SettingKind::Calendar, 1).await.unwrap(),
        Some(first)
    );
    assert_eq!(store.setting(SettingKind::Policy, 2).await.unwrap(), None);

    // The same table again, written otherwise (a comment, `;` separators): the same
    // fingerprint, so nothing is recorded.
    let same = format!("# again\n{}", TWO_DAYS_OFF.replace(',', ";"));
    let again = store
        .set_setting(SettingKind::Calendar, &same, "budi", at(4), None)
        .await
        .unwrap();
    assert_eq!(
        again,
        SetOutcome::Unchanged {
            in_force: Some(second.clone()),
            fingerprint: second.fingerprint.clone(),
        }
    );
    assert_eq!(
        store
            .settings_history(SettingKind::Calendar)
            .await
            .unwrap()
            .len(),
        2
    );
    // Going back to an earlier table is a change like any other.
    let (third, _) = recorded(
        store
            .set_setting(SettingKind::Calendar, EXTRA_DAY_OFF, "sari", at(5), None)
            .await
            .unwrap(),
    );
    assert_eq!(third.version, 3);
    assert_eq!(
        store.engine().services().calendar.table().version(),
        third.fingerprint
    );
    store.close().await;
}
both!(
    numbered,
    changes_are_numbered_per_kind_with_who_when_and_why
);

async fn a_setting_that_does_not_parse_is_refused_and_nothing_is_written(db: TestDb) {
    let store = stored(&db).await;
    let bad_csv = "date,kind,name_id,name_en,source\n\
                   2026-12-02,cuti_bersama,Cuti,Leave,SKB\n\
                   2026-12-03,libur,Libur,Holiday,SKB\n";
    let err = store
        .set_setting(SettingKind::Calendar, bad_csv, "sari", at(1), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::BadSetting(SettingError::Calendar(CalendarError::BadLine {
                line: 3,
                ..
            }))
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("line 3"), "{err}");
    for json in [
        "{\"steps\": ",
        "[1, 2]",
        // A misspelt field is not left at its default silently.
        r#"{"steps": {}, "at_risk_days": 1, "time_zone": "Asia/Jakarta", "identity_retention_year": 2}"#,
    ] {
        let err = store
            .set_setting(SettingKind::Policy, json, "sari", at(1), None)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::BadSetting(SettingError::Policy(_))),
            "{json}: {err:?}"
        );
    }
    let err = store
        .set_setting(SettingKind::Calendar, EXTRA_DAY_OFF, " ", at(1), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::BadSetting(SettingError::NoAuthor)),
        "{err:?}"
    );
    // The built-in policy written out is the one in force already.
    let default = serde_json::to_string(&SlaPolicy::default()).unwrap();
    let unchanged = store
        .set_setting(SettingKind::Policy, &default, "sari", at(1), None)
        .await
        .unwrap();
    assert_eq!(
        unchanged,
        SetOutcome::Unchanged {
            in_force: None,
            fingerprint: SlaPolicy::default().version()
        }
    );
    for kind in SettingKind::ALL {
        assert!(store.settings_history(kind).await.unwrap().is_empty());
    }
    let in_force = store.settings_in_force().await.unwrap();
    assert_eq!((in_force.calendar, in_force.policy), (None, None));
    store.close().await;
}
both!(
    refused,
    a_setting_that_does_not_parse_is_refused_and_nothing_is_written
);

async fn a_change_recomputes_running_deadlines_and_no_open_does(db: TestDb) {
    let store = stored(&db).await;
    workflow_store::testing::play(&store, vec![register("ADU-1", "2026-11-30 08:00")]).await;
    store.projector().catch_up().await.unwrap();
    assert!(disposition_due(&store, "ADU-1")
        .await
        .starts_with("2026-12-03T16:59:59"));
    let (_, recomputed) = recorded(
        store
            .set_setting(SettingKind::Calendar, EXTRA_DAY_OFF, "sari", at(1), None)
            .await
            .unwrap(),
    );
    assert_eq!(recomputed, 1);
    let moved = disposition_due(&store, "ADU-1").await;
    assert!(moved.starts_with("2026-12-04T16:59:59"), "{moved}");
    store.close().await;

    // Another process opens the database with services of its own, writes, projects
    // and ticks: the stored deadlines stay as the settings make them.
    let other = Store::open(&db.url, ComplaintServices::builtin())
        .await
        .unwrap();
    assert_eq!(disposition_due(&other, "ADU-1").await, moved);
    other.close().await;
    let again = stored(&db).await;
    assert_eq!(disposition_due(&again, "ADU-1").await, moved);
    // Its engine judges with the stored table.
    assert_eq!(
        again.engine().services().calendar.table().version(),
        again
            .settings_in_force()
            .await
            .unwrap()
            .calendar
            .unwrap()
            .fingerprint
    );
    again.close().await;
}
both!(
    recompute,
    a_change_recomputes_running_deadlines_and_no_open_does
);

async fn a_store_follows_a_change_recorded_through_another_handle(db: TestDb) {
    let server = stored(&db).await;
    workflow_store::testing::play(
        &server,
        vec![
            register("ADU-1", "2026-11-30 08:00"),
            register("ADU-2", "2026-11-30 08:00"),
        ],
    )
    .await;
    server.projector().catch_up().await.unwrap();
    let builtin = HolidayTable::builtin().version();
    assert_eq!(
        server.engine().services().calendar.table().version(),
        builtin
    );

    let operator = stored(&db).await;
    let (change, _) = recorded(
        operator
            .set_setting(SettingKind::Calendar, EXTRA_DAY_OFF, "sari", at(1), None)
            .await
            .unwrap(),
    );
    operator.close().await;
    assert_eq!(
        server.engine().services().calendar.table().version(),
        builtin,
        "not looked at yet"
    );

    // The next command judges with the new table: the disposition ends step 1's clock
    // run, and its verdict cites the table now in force.
    let executed = server
        .engine()
        .execute(
            &cid("ADU-1"),
            cmd(
                "dispose-1",
                upp(),
                wib("2026-12-01 10:00"),
                C::Dispose(disposition("PUPR")),
            ),
            None,
        )
        .await
        .unwrap();
    let verdict = executed.events[0]
        .payload
        .verdicts
        .iter()
        .find(|v| v.step == Step::Disposition)
        .expect("the disposition's verdict");
    assert_eq!(verdict.judged_by.calendar, change.fingerprint);
    assert_eq!(verdict.due_date, date("2026-12-04"));
    // Judged first with the table this handle had loaded, refused at the commit (the
    // database's newest calendar is another), judged again after a reload; the event
    // names the versions it was judged with.
    assert_eq!(
        executed.attempts, 2,
        "a stale judgement is refused at the commit"
    );
    let metadata = &executed.events[0].metadata;
    assert_eq!(
        (
            metadata.get("calendar_version").map(String::as_str),
            metadata.get("policy_version").map(String::as_str)
        ),
        (Some(change.version.to_string().as_str()), Some("0"))
    );
    assert_eq!(
        server.engine().services().calendar.table().version(),
        change.fingerprint
    );

    // A change its projector takes up in the batch that projects an event committed
    // after it (by another process), before anything else looked.
    let operator = stored(&db).await;
    recorded(
        operator
            .set_setting(SettingKind::Calendar, TWO_DAYS_OFF, "budi", at(1), None)
            .await
            .unwrap(),
    );
    workflow_store::testing::play(&operator, vec![register("ADU-3", "2026-11-30 08:00")]).await;
    operator.close().await;
    server.projector().catch_up().await.unwrap();
    let two_days = HolidayTable::builtin()
        .amended_by(&HolidayTable::parse(TWO_DAYS_OFF).unwrap())
        .version();
    assert_eq!(
        server.engine().services().calendar.table().version(),
        two_days
    );
    let due = disposition_due(&server, "ADU-3").await;
    assert!(due.starts_with("2026-12-07T16:59:59"), "{due}");

    // And one its SLA monitor takes up at the next tick.
    let operator = stored(&db).await;
    let (policy, _) = recorded(
        operator
            .set_setting(SettingKind::Policy, SLOWER_DISPOSITION, "sari", at(2), None)
            .await
            .unwrap(),
    );
    operator.close().await;
    assert_ne!(
        server.engine().services().policy.version(),
        policy.fingerprint
    );
    server.sla_tick(wib("2026-11-30 12:00")).await.unwrap();
    assert_eq!(
        server.engine().services().policy.version(),
        policy.fingerprint
    );
    assert!(!server.refresh_settings().await.unwrap(), "nothing newer");

    // A store opened with services of its own keeps them.
    let fixed = Store::open(&db.url, ComplaintServices::builtin())
        .await
        .unwrap();
    assert!(!fixed.refresh_settings().await.unwrap());
    assert_eq!(
        fixed.engine().services().calendar.table().version(),
        builtin
    );
    fixed.close().await;
    server.close().await;
}
both!(
    follows,
    a_store_follows_a_change_recorded_through_another_handle
);

async fn the_history_is_append_only(db: TestDb) {
    let store = stored(&db).await;
    recorded(
        store
            .set_setting(SettingKind::Calendar, EXTRA_DAY_OFF, "sari", at(1), None)
            .await
            .unwrap(),
    );
    for sql in [
        "UPDATE settings_history SET changed_by = 'mallory'",
        "DELETE FROM settings_history",
    ] {
        let refused = sqlx::query(sql).execute(store.pool()).await;
        assert!(refused.is_err(), "{sql} was let through");
    }
    let history = store.settings_history(SettingKind::Calendar).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].changed_by, "sari");
    store.close().await;
}
both!(append_only, the_history_is_append_only);

async fn a_registration_judged_with_stale_settings_is_judged_again_with_one_key(db: TestDb) {
    let server = stored(&db).await;
    let operator = stored(&db).await;
    let (change, _) = recorded(
        operator
            .set_setting(SettingKind::Calendar, EXTRA_DAY_OFF, "sari", at(1), None)
            .await
            .unwrap(),
    );
    operator.close().await;
    // The registration's first try, decided without a read, carries a new data key with
    // events judged under the built-in calendar: the commit refuses both, and the try
    // after it, with the newest settings, writes them (the first is not counted).
    let executed = server
        .engine()
        .execute(
            &cid("ADU-7"),
            cmd(
                "reg-7",
                upp(),
                wib("2026-11-30 08:00"),
                C::Register(registration()),
            ),
            None,
        )
        .await
        .unwrap();
    assert_eq!(executed.attempts, 1);
    assert_eq!(
        executed.events[0].metadata.get("calendar_version"),
        Some(&change.version.to_string())
    );
    assert_eq!(crate::support::keys_of(&db, "ADU-7").await, 1);
    let complaint = server.engine().load(&cid("ADU-7")).await.unwrap();
    assert!(
        matches!(
            server
                .reveal_identity(&cid("ADU-7"), &complaint)
                .await
                .unwrap(),
            Some(workflow_store::keys::Revealed::Identity(_))
        ),
        "the identity opens with the key written"
    );
}
both!(
    stale_registration,
    a_registration_judged_with_stale_settings_is_judged_again_with_one_key
);

async fn a_read_only_open_judges_with_the_stored_settings_and_changes_none(db: TestDb) {
    let store = stored(&db).await;
    workflow_store::testing::play(&store, vec![register("ADU-1", "2026-11-30 08:00")]).await;
    store.projector().catch_up().await.unwrap();
    let (change, _) = recorded(
        store
            .set_setting(SettingKind::Calendar, EXTRA_DAY_OFF, "sari", at(1), None)
            .await
            .unwrap(),
    );
    store.close().await;

    let copy = Store::open_read_only(&db.url, SettingsSource::Stored)
        .await
        .unwrap();
    assert_eq!(
        copy.engine().services().calendar.table().version(),
        change.fingerprint
    );
    let board = copy
        .sla_board(wib("2026-11-30 12:00"), None, None)
        .await
        .unwrap();
    let due = board
        .iter()
        .find(|e| e.step == Step::Disposition)
        .and_then(|e| e.due_at)
        .unwrap();
    assert!(due.to_rfc3339().starts_with("2026-12-04T16:59:59"), "{due}");
    assert_eq!(
        copy.settings_history(SettingKind::Calendar).await.unwrap(),
        vec![change]
    );
    let refused = copy
        .set_setting(SettingKind::Calendar, TWO_DAYS_OFF, "sari", at(2), None)
        .await
        .unwrap_err();
    assert!(matches!(refused, StoreError::ReadOnly(_)), "{refused:?}");
    copy.close().await;
}
both!(
    read_only,
    a_read_only_open_judges_with_the_stored_settings_and_changes_none
);
