//! Personal data under UU 27/2022 on real databases: identities reach the log only
//! sealed, erasure destroys the key and leaves no byte of it behind (SQLite's files,
//! PostgreSQL's data), the chain and checkpoints still verify, and the faults around it
//! (a missing or wrong key file, altered ciphertext, two erasures at once, a crash
//! between the event and the key's destruction) end in a clear answer.

use std::time::Duration;

use sqlx::{Executor, Row};
use workflow_core::complainant::{Complainant, Confidentiality, Identity, PersonalData};
use workflow_core::complaint::command::{ComplaintCommand as C, IdentityErasure};
use workflow_core::fixtures::*;
use workflow_core::{Complaint, ComplaintServices, DomainError, EventBody};
use workflow_store::audit::ExportFormat;
use workflow_store::keys::Revealed;
use workflow_store::testing::{self as common, TestDb};
use workflow_store::{both, Store, StoreError, StoreOptions};

use crate::support;

/// A name and a NIK found nowhere else, so that a scan for them means something.
const NAME: &str = "Zulkarnain Wiratmadja";
const NIK: &str = "6203019912850007";

fn distinctive_registration() -> workflow_core::complaint::command::Registration {
    let mut r = registration();
    r.complainant = Complainant::plain(
        PersonalData {
            name: NAME.into(),
            nik: Some(NIK.into()),
            phone: Some("+62 811 5550 1234".into()),
            address: Some("Jl. Melati 7, Kuala Kapuas".into()),
            ..PersonalData::default()
        },
        Confidentiality::Confidential,
    );
    r
}

async fn register(store: &Store, id: &str) -> Complaint {
    let now = wib("2026-11-30 09:00");
    let command = cmd(
        &format!("reg-{id}"),
        upp(),
        now,
        C::Register(distinctive_registration()),
    );
    store
        .engine()
        .execute(&cid(id), command, None)
        .await
        .unwrap();
    store.engine().load(&cid(id)).await.unwrap()
}

fn erase(id: &str, at: &str) -> workflow_core::CommandEnvelope {
    cmd(
        &format!("erase-{id}-{at}"),
        upp(),
        wib(at),
        C::EraseIdentity(IdentityErasure {
            legal_basis: "Permintaan pelapor 12/2026, Pasal 8 UU 27/2022".into(),
        }),
    )
}

async fn wrapped_key(db: &TestDb, id: &str) -> Option<String> {
    let mut raw = db.raw().await;
    sqlx::query("SELECT wrapped_key FROM subject_keys WHERE complaint_id = $1")
        .bind(id)
        .fetch_optional(&mut raw)
        .await
        .unwrap()
        .map(|r| r.get("wrapped_key"))
}

/// Fails naming the file when `needle` is in any of `files`.
#[track_caller]
fn assert_nowhere(files: &[(String, Vec<u8>)], needle: &str) {
    common::assert_nowhere(files, needle.as_bytes(), &format!("`{needle}`"));
}

async fn an_erased_identity_leaves_nothing_behind_and_the_log_still_verifies(db: TestDb) {
    let store = db.open().await;
    let complaint = register(&store, "ADU-1").await;
    store.projector().catch_up().await.unwrap();
    // Sealed from the first write: the log, the views and every file hold ciphertext.
    match &complaint.registration().unwrap().complainant.identity {
        Identity::Sealed { sealed } => assert_eq!(sealed.algorithm, "XChaCha20-Poly1305"),
        Identity::Plain(_) => panic!("the log holds the identity in plain"),
    }
    let revealed = store
        .reveal_identity(&cid("ADU-1"), &complaint)
        .await
        .unwrap();
    let Some(Revealed::Identity(data)) = revealed else {
        panic!("the identity opens before the erasure: {revealed:?}")
    };
    assert_eq!((data.name.as_str(), data.nik.as_deref()), (NAME, Some(NIK)));
    assert_nowhere(&db.stored_bytes(), NAME);
    assert_nowhere(&db.stored_bytes(), NIK);
    let key = wrapped_key(&db, "ADU-1")
        .await
        .expect("the complaint has a key");
    let signing = workflow_store::audit::generate_signing_key().unwrap();
    let before = store
        .checkpoint(&signing, wib("2026-11-30 10:00"), |_| {})
        .await
        .unwrap();

    store
        .engine()
        .execute(&cid("ADU-1"), erase("ADU-1", "2026-12-01 09:00"), None)
        .await
        .unwrap();

    assert_eq!(
        wrapped_key(&db, "ADU-1").await,
        None,
        "the key is destroyed"
    );
    let files = db.stored_bytes();
    assert_nowhere(&files, &key);
    assert_nowhere(&files, NAME);
    assert_nowhere(&files, NIK);
    let now = store.engine().load(&cid("ADU-1")).await.unwrap();
    assert_eq!(
        store.reveal_identity(&cid("ADU-1"), &now).await.unwrap(),
        Some(Revealed::Erased)
    );
    // Time travel to before the erasure shows it erased too.
    let then = store
        .history(&cid("ADU-1"), wib("2026-11-30 12:00"))
        .await
        .unwrap();
    assert!(then.state.identity_erased().is_none());
    assert_eq!(
        store
            .reveal_identity(&cid("ADU-1"), &then.state)
            .await
            .unwrap(),
        Some(Revealed::Erased)
    );
    // The chain, and the checkpoint taken before the erasure, still verify.
    let report = store.verify(Some(&before), None, |_| {}).await.unwrap();
    assert_eq!(report.failures_total, 0, "{:?}", report.failures);
    // An export written now carries neither.
    let mut export = Vec::new();
    store
        .export(None, ExportFormat::Jsonl, &mut export, |_| {})
        .await
        .unwrap();
    assert!(!export.is_empty());
    assert_nowhere(&[("export".into(), export)], NAME);
    // The workflow goes on.
    support::dispose("ADU-1", "2026-12-01 10:00", "PUPR")
        .execute(&store, "dispose-after-erasure")
        .await
        .unwrap();
    store.close().await;
}
both!(
    erasure,
    an_erased_identity_leaves_nothing_behind_and_the_log_still_verifies
);

async fn a_registration_that_fails_leaves_no_key_and_a_retry_seals_afresh(db: TestDb) {
    let store = db.open().await;
    support::refuse_events_of(&db, "ADU-9").await;
    let command = || {
        cmd(
            "reg-ADU-9",
            upp(),
            wib("2026-11-30 09:00"),
            C::Register(distinctive_registration()),
        )
    };
    let failed = store.engine().execute(&cid("ADU-9"), command(), None).await;
    assert!(failed.is_err(), "{failed:?}");
    // The key is written in the events' transaction: with them, or not at all.
    assert_eq!(
        wrapped_key(&db, "ADU-9").await,
        None,
        "a key outlived its registration"
    );

    support::allow_events_again(&db).await;
    store
        .engine()
        .execute(&cid("ADU-9"), command(), None)
        .await
        .unwrap();
    assert!(wrapped_key(&db, "ADU-9").await.is_some());
    let complaint = store.engine().load(&cid("ADU-9")).await.unwrap();
    let Some(Revealed::Identity(data)) = store
        .reveal_identity(&cid("ADU-9"), &complaint)
        .await
        .unwrap()
    else {
        panic!("the identity does not open")
    };
    assert_eq!(data.name, NAME);
}
both!(
    failed_registration,
    a_registration_that_fails_leaves_no_key_and_a_retry_seals_afresh
);

async fn a_key_left_without_events_is_the_one_the_registration_seals_with(db: TestDb) {
    let store = db.open().await;
    register(&store, "ADU-10").await;
    // A key for ADU-11 with no event (as a registration that failed under an earlier
    // version, which wrote the key in a transaction of its own, could leave).
    let mut raw = db.raw().await;
    sqlx::query(
        "INSERT INTO subject_keys (complaint_id, key_id, kek_id, wrapped_key, created_at) \
         SELECT 'ADU-11', key_id, kek_id, wrapped_key, created_at FROM subject_keys \
         WHERE complaint_id = 'ADU-10'",
    )
    .execute(&mut raw)
    .await
    .unwrap();
    let left = wrapped_key(&db, "ADU-11").await.unwrap();

    let complaint = register(&store, "ADU-11").await;
    assert_eq!(
        wrapped_key(&db, "ADU-11").await,
        Some(left),
        "the key left is kept"
    );
    let Some(Revealed::Identity(data)) = store
        .reveal_identity(&cid("ADU-11"), &complaint)
        .await
        .unwrap()
    else {
        panic!("the identity does not open with the key left")
    };
    assert_eq!(data.nik.as_deref(), Some(NIK));
}
both!(
    key_left_behind,
    a_key_left_without_events_is_the_one_the_registration_seals_with
);

async fn a_second_erasure_and_two_at_once_erase_once(db: TestDb) {
    let store = db.open().await;
    register(&store, "ADU-2").await;
    let id = cid("ADU-2");
    let (a, b) = tokio::join!(
        store
            .engine()
            .execute(&id, erase("ADU-2", "2026-12-01 09:00"), None),
        store
            .engine()
            .execute(&id, erase("ADU-2", "2026-12-01 09:01"), None),
    );
    let outcomes = [a, b];
    let erased = outcomes.iter().filter(|o| o.is_ok()).count();
    let refused = outcomes
        .iter()
        .filter(|o| {
            matches!(
                o,
                Err(StoreError::Domain(
                    DomainError::IdentityAlreadyErased { .. }
                ))
            )
        })
        .count();
    assert_eq!((erased, refused), (1, 1), "{outcomes:?}");
    let events = store.engine().events(&cid("ADU-2")).await.unwrap();
    let erasures = events
        .iter()
        .filter(|e| matches!(e.payload.body, EventBody::IdentityErased(_)))
        .count();
    assert_eq!(erasures, 1);
    let later = store
        .engine()
        .execute(&cid("ADU-2"), erase("ADU-2", "2026-12-02 09:00"), None)
        .await;
    assert!(
        matches!(
            later,
            Err(StoreError::Domain(
                DomainError::IdentityAlreadyErased { .. }
            ))
        ),
        "{later:?}"
    );
    // And an unknown complaint has nothing to erase.
    let unknown = store
        .engine()
        .execute(&cid("ADU-404"), erase("ADU-404", "2026-12-01 09:00"), None)
        .await;
    assert!(
        matches!(unknown, Err(StoreError::Domain(DomainError::NotRegistered))),
        "{unknown:?}"
    );
    store.close().await;
}
both!(erasing_once, a_second_erasure_and_two_at_once_erase_once);

async fn an_altered_ciphertext_is_refused_naming_its_complaint(db: TestDb) {
    let store = db.open().await;
    let mut complaint_events = Vec::new();
    register(&store, "ADU-3").await;
    for e in store.engine().events(&cid("ADU-3")).await.unwrap() {
        complaint_events.push(e.payload);
    }
    let EventBody::Received(r) = &mut complaint_events[0].body else {
        panic!("the first event is the registration")
    };
    let Identity::Sealed { sealed } = &mut r.complainant.identity else {
        panic!("sealed")
    };
    let flipped = if sealed.ciphertext.starts_with('0') {
        "1"
    } else {
        "0"
    };
    sealed.ciphertext.replace_range(0..1, flipped);
    let altered = Complaint::from_events(&complaint_events);
    let err = store
        .reveal_identity(&cid("ADU-3"), &altered)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Integrity { .. }), "{err:?}");
    assert!(err.to_string().contains("ADU-3"), "{err}");
    store.close().await;
}
both!(
    altered_ciphertext,
    an_altered_ciphertext_is_refused_naming_its_complaint
);

async fn without_its_key_file_a_store_with_keys_refuses_to_open(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("kek");
    let options = || StoreOptions::default().with_key_file(&key_file);
    let store = Store::open_with_options(&db.url, ComplaintServices::builtin(), options())
        .await
        .unwrap();
    register(&store, "ADU-4").await;
    store.close().await;

    // Another key file: named, with both keys' ids.
    let other = dir.path().join("other");
    let err = Store::open_with_options(
        &db.url,
        ComplaintServices::builtin(),
        StoreOptions::default().with_key_file(&other),
    )
    .await
    .expect_err("another key file is refused");
    // (Absent, it is not made: the database names the key file it knows.)
    assert!(matches!(err, StoreError::Keys { .. }), "{err:?}");

    // A second host that made a key file of its own is refused, not allowed to wrap keys
    // nobody else can open.
    let own = dir.path().join("own");
    workflow_store::keys::KeyEncryptionKey::create(&own).unwrap();
    let err = Store::open_with_options(
        &db.url,
        ComplaintServices::builtin(),
        StoreOptions::default().with_key_file(&own),
    )
    .await
    .expect_err("another host's own key file is refused");
    assert!(
        err.to_string()
            .contains("is not the one this database's keys are wrapped with"),
        "{err}"
    );

    // The key file gone: refused, and the message says what to do.
    std::fs::remove_file(&key_file).unwrap();
    let err = Store::open_with_options(&db.url, ComplaintServices::builtin(), options())
        .await
        .expect_err("no key file, keys in the database: refused");
    let message = err.to_string();
    assert!(matches!(err, StoreError::Keys { .. }), "{err:?}");
    assert!(
        message.contains("missing") && message.contains("backup"),
        "{message}"
    );
    assert!(!key_file.exists(), "no new key file is made in its place");

    // A reading open goes on without it, and says why an identity cannot be shown.
    let reader = Store::open_with_options(
        &db.url,
        ComplaintServices::builtin(),
        options().read_only(true),
    )
    .await
    .unwrap();
    let complaint = reader.engine().load(&cid("ADU-4")).await.unwrap();
    let err = reader
        .reveal_identity(&cid("ADU-4"), &complaint)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is missing"), "{err}");
    assert_eq!(
        reader
            .verify(None, None, |_| {})
            .await
            .unwrap()
            .failures_total,
        0
    );
    reader.close().await;
}
both!(
    missing_key_file,
    without_its_key_file_a_store_with_keys_refuses_to_open
);

async fn a_rotated_key_opens_every_identity_and_the_old_file_none(db: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("old.key");
    let new = dir.path().join("new.key");
    let store = Store::open_with_options(
        &db.url,
        ComplaintServices::builtin(),
        StoreOptions::default().with_key_file(&old),
    )
    .await
    .unwrap();
    register(&store, "ADU-5").await;
    register(&store, "ADU-6").await;
    let rotation = store.rotate_key(&new).await.unwrap();
    assert_eq!(rotation.keys, 2);
    assert_ne!(rotation.old_key, rotation.new_key);
    // The running store uses the new key at once.
    let complaint = store.engine().load(&cid("ADU-5")).await.unwrap();
    assert!(matches!(
        store
            .reveal_identity(&cid("ADU-5"), &complaint)
            .await
            .unwrap(),
        Some(Revealed::Identity(_))
    ));
    store.close().await;
    let refused = Store::open_with_options(
        &db.url,
        ComplaintServices::builtin(),
        StoreOptions::default().with_key_file(&old),
    )
    .await;
    assert!(
        matches!(refused, Err(StoreError::Keys { .. })),
        "{refused:?}"
    );
    let reopened = Store::open_with_options(
        &db.url,
        ComplaintServices::builtin(),
        StoreOptions::default().with_key_file(&new),
    )
    .await
    .unwrap();
    let complaint = reopened.engine().load(&cid("ADU-6")).await.unwrap();
    let Some(Revealed::Identity(data)) = reopened
        .reveal_identity(&cid("ADU-6"), &complaint)
        .await
        .unwrap()
    else {
        panic!("the identity opens with the new key")
    };
    assert_eq!(data.name, NAME);
    reopened.close().await;
}
both!(
    rotation,
    a_rotated_key_opens_every_identity_and_the_old_file_none
);

/// The child process of the crash test.
mod child {
    use super::*;

    /// Registers, then erases; the process aborts between the event's commit and the
    /// key's destruction (the parent names that fault point).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[ignore = "a child process of `crash_before_key_destruction`: run by it, not on its own"]
    async fn erases_and_dies_before_the_key_goes() {
        let url = common::child_url();
        let store = Store::open(&url, ComplaintServices::builtin())
            .await
            .unwrap();
        register(&store, "ADU-7").await;
        common::say("registered");
        let _ = store
            .engine()
            .execute(&cid("ADU-7"), erase("ADU-7", "2026-12-01 09:00"), None)
            .await;
        common::say("survived the fault point");
    }
}

async fn a_key_that_outlived_its_erasure_in_a_crash_is_destroyed_at_the_next_open(db: TestDb) {
    let test = support::test_name(module_path!(), "child::erases_and_dies_before_the_key_goes");
    let child =
        common::ChildProcess::spawn_with_fault(&test, &db.url, Some("before_key_destruction"));
    child.wait_for("registered", Duration::from_secs(60));
    let status = child.wait_exit(Duration::from_secs(60));
    assert!(
        !status.success(),
        "the child died at the fault point: {status:?}"
    );
    // The event is in the log, the key still in its table: the crash came between.
    let mut raw = db.raw().await;
    let erased: i64 = raw
        .fetch_one(
            "SELECT COUNT(*) AS n FROM events WHERE aggregate_id = 'ADU-7' AND event_type = 'IdentityErased'",
        )
        .await
        .unwrap()
        .get("n");
    assert_eq!(erased, 1);
    assert!(wrapped_key(&db, "ADU-7").await.is_some());
    drop(raw);
    // The next open destroys it before anything reads.
    let store = db.open().await;
    assert_eq!(wrapped_key(&db, "ADU-7").await, None);
    let complaint = store.engine().load(&cid("ADU-7")).await.unwrap();
    assert_eq!(
        store
            .reveal_identity(&cid("ADU-7"), &complaint)
            .await
            .unwrap(),
        Some(Revealed::Erased)
    );
    store.close().await;
}
both!(
    crash_before_key_destruction,
    a_key_that_outlived_its_erasure_in_a_crash_is_destroyed_at_the_next_open
);

#[cfg(feature = "sqlite")]
#[tokio::test]
async fn a_new_sqlite_store_makes_its_key_file_beside_it_readable_by_its_owner_only() {
    let db = TestDb::new(common::Backend::Sqlite, "personal_data_key_file").await;
    let store = db.open().await;
    register(&store, "ADU-8").await;
    store.close().await;
    let key_file = format!("{}.key", db.sqlite_path().unwrap().display());
    let meta = std::fs::metadata(&key_file).expect("the key file beside the database");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert!(text.starts_with("aduan-kek-v1 "), "{text}");
}

mod later;
