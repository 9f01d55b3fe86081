//! The records the operator keeps beside the log, on both real stores: the agency
//! registry (added once, changed, retired rather than removed once anything names it)
//! and bearer tokens (refused unless a liaison officer's or head's names a registered
//! agency, expiring, listed without their secret, their last use written at most once
//! a minute and never on a read-only store).

use chrono::TimeDelta;
use workflow_core::fixtures::*;
use workflow_core::{Actor, AgencyCode, BadAgencyCode, ComplaintServices, Role};
use workflow_store::agency::{
    AgencyChange, AgencyDetails, AgencyHead, AgencyZone, Registered, Removed,
};
use workflow_store::testing::TestDb;
use workflow_store::{both, Refusal, Store, StoreError};

fn code(s: &str) -> AgencyCode {
    AgencyCode(s.to_owned())
}

fn refusal<T: std::fmt::Debug>(result: Result<T, StoreError>) -> Refusal {
    match result {
        Err(StoreError::Refused(r)) => r,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

fn pupr() -> AgencyDetails {
    AgencyDetails {
        name: "Dinas Pekerjaan Umum dan Penataan Ruang".into(),
        address: Some("Jl. Tambun Bungai No. 1, Kuala Kapuas".into()),
        time_zone: Some(AgencyZone::Wib),
        head: Some(AgencyHead {
            name: "Ir. Hendra Wijaya, M.T.".into(),
            nip: "197001011990031001".into(),
        }),
    }
}

async fn a_liaison_or_head_token_without_an_agency_is_refused_and_nothing_is_written(db: TestDb) {
    let store = db.open().await;
    let now = wib("2026-12-01 09:00");
    for role in [Role::Liaison, Role::Head] {
        let nobody = Actor::new("penghubung.tanpa.dinas", role);
        assert_eq!(
            refusal(store.create_token(&nobody, now).await),
            Refusal::AgencyRequired(role)
        );
    }
    store
        .register_agency("PUPR", &AgencyDetails::named("Dinas PUPR"), now)
        .await
        .unwrap();
    let upp_of_pupr = Actor::of_agency("sari.upp", Role::Upp, "PUPR");
    let refused = refusal(store.create_token(&upp_of_pupr, now).await);
    assert_eq!(refused, Refusal::AgencyNotAllowed(Role::Upp));
    assert_eq!(refused.rule(), "token.agency_not_allowed");
    let bad_name = Actor::new("sari:upp", Role::Upp);
    assert!(matches!(
        refusal(store.create_token(&bad_name, now).await),
        Refusal::UserName(_)
    ));
    assert_eq!(store.tokens().await.unwrap(), vec![], "nothing was written");
    store.close().await;
}
both!(
    a_liaison_or_head_token_without_an_agency_is_refused,
    a_liaison_or_head_token_without_an_agency_is_refused_and_nothing_is_written
);

async fn tokens_name_only_registered_agencies_in_service(db: TestDb) {
    let store = db.open().await;
    let now = wib("2026-12-01 09:00");
    let refused = refusal(store.create_token(&liaison("PUPR"), now).await);
    assert_eq!(refused, Refusal::UnknownAgency(code("PUPR")));
    assert_eq!(refused.rule(), "agency.unknown");
    let lower = Actor::of_agency("andi", Role::Liaison, "pupr");
    let refused = refusal(store.create_token(&lower, now).await);
    assert_eq!(
        refused,
        Refusal::AgencyCode(BadAgencyCode::LowerCase {
            given: "pupr".into(),
            upper: "PUPR".into()
        })
    );
    assert!(refused.to_string().contains("`PUPR`"), "{refused}");
    assert_eq!(store.tokens().await.unwrap(), vec![]);

    store.register_agency("PUPR", &pupr(), now).await.unwrap();
    let token = store.create_token(&liaison("PUPR"), now).await.unwrap();
    assert_eq!(
        store.authenticate(&token, now).await.unwrap(),
        Some(liaison("PUPR"))
    );

    // Retired: no new token, while the ones issued go on (its complaints still need
    // their liaison officer until they are revoked).
    assert_eq!(
        store.remove_agency(&code("PUPR"), true, now).await.unwrap(),
        Removed::Retired
    );
    assert_eq!(
        refusal(store.create_token(&head("PUPR"), now).await),
        Refusal::RetiredAgency(code("PUPR"))
    );
    assert_eq!(
        store.authenticate(&token, now).await.unwrap(),
        Some(liaison("PUPR"))
    );
    assert_eq!(store.tokens().await.unwrap().len(), 1);
    store.close().await;
}
both!(
    tokens_name_only_registered_agencies,
    tokens_name_only_registered_agencies_in_service
);

async fn the_registry_adds_an_agency_once_and_changes_it_by_update(db: TestDb) {
    let store = db.open().await;
    let t0 = wib("2026-12-01 09:00");
    assert_eq!(
        store.agencies().await.unwrap(),
        vec![],
        "a fresh store knows none"
    );
    assert_eq!(
        store.register_agency("PUPR", &pupr(), t0).await.unwrap(),
        Registered::Added
    );
    let later = wib("2026-12-02 09:00");
    assert_eq!(
        store.register_agency("PUPR", &pupr(), later).await.unwrap(),
        Registered::AlreadyAsGiven,
        "a script that runs twice"
    );
    assert_eq!(
        refusal(
            store
                .register_agency("PUPR", &AgencyDetails::named("Dinas PU"), later)
                .await
        ),
        Refusal::AgencyExists(code("PUPR"))
    );
    store
        .register_agency("DINKES", &AgencyDetails::named("Dinas Kesehatan"), t0)
        .await
        .unwrap();

    let stored = store.agency(&code("PUPR")).await.unwrap().unwrap();
    assert_eq!(stored.details, pupr());
    assert_eq!((stored.registered_at, stored.updated_at), (t0, t0));
    assert_eq!(stored.retired_at, None);
    let codes: Vec<_> = store
        .agencies()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.code.0)
        .collect();
    assert_eq!(codes, ["DINKES", "PUPR"], "by code");
    assert_eq!(store.agency(&code("DISHUB")).await.unwrap(), None);

    // An update replaces what it names and keeps the rest.
    let change = AgencyChange {
        head: Some(Some(AgencyHead {
            name: "Dr. Rina Lestari".into(),
            nip: "198002022005012002".into(),
        })),
        address: Some(None),
        ..Default::default()
    };
    let changed = store
        .update_agency(&code("PUPR"), &change, later)
        .await
        .unwrap();
    assert_eq!(changed.details.name, pupr().name);
    assert_eq!(changed.details.address, None);
    assert_eq!(changed.details.head.unwrap().name, "Dr. Rina Lestari");
    assert_eq!(changed.updated_at, later);
    assert_eq!(
        store
            .agency(&code("PUPR"))
            .await
            .unwrap()
            .unwrap()
            .details
            .head,
        Some(AgencyHead {
            name: "Dr. Rina Lestari".into(),
            nip: "198002022005012002".into(),
        })
    );
    assert_eq!(
        refusal(
            store
                .update_agency(&code("DISHUB"), &AgencyChange::default(), later)
                .await
        ),
        Refusal::UnknownAgency(code("DISHUB"))
    );

    // Refused as given: nothing changes.
    let bad_nip = AgencyChange {
        head: Some(Some(AgencyHead {
            name: "Dr. Rina Lestari".into(),
            nip: "1980 0202".into(),
        })),
        ..Default::default()
    };
    let refused = refusal(store.update_agency(&code("PUPR"), &bad_nip, later).await);
    assert_eq!(refused.rule(), "agency.detail_invalid");
    assert!(refused.to_string().contains("18 digits"), "{refused}");
    assert!(matches!(
        refusal(store.register_agency("Dishub", &pupr(), t0).await),
        Refusal::AgencyCode(BadAgencyCode::LowerCase { .. })
    ));
    assert!(matches!(
        refusal(
            store
                .register_agency("DISHUB", &AgencyDetails::named("  "), t0)
                .await
        ),
        Refusal::AgencyDetail { field: "name", .. }
    ));
    assert_eq!(store.agencies().await.unwrap().len(), 2);
    store.close().await;
}
both!(
    the_registry_adds_an_agency_once,
    the_registry_adds_an_agency_once_and_changes_it_by_update
);

async fn an_agency_something_names_is_retired_not_removed(db: TestDb) {
    let store = db.open().await;
    let now = wib("2026-12-01 09:00");
    // A slip of the keyboard, named by nothing: removed.
    store
        .register_agency("PUPRR", &AgencyDetails::named("salah ketik"), now)
        .await
        .unwrap();
    assert_eq!(
        store
            .remove_agency(&code("PUPRR"), false, now)
            .await
            .unwrap(),
        Removed::Deleted
    );
    assert_eq!(store.agency(&code("PUPRR")).await.unwrap(), None);
    assert_eq!(
        refusal(store.remove_agency(&code("PUPRR"), false, now).await),
        Refusal::UnknownAgency(code("PUPRR"))
    );

    // Named by a token (even a revoked one: the record of who acted for it).
    store.register_agency("PUPR", &pupr(), now).await.unwrap();
    store.create_token(&liaison("PUPR"), now).await.unwrap();
    store.revoke_tokens("penghubung.pupr", now).await.unwrap();
    let refused = refusal(store.remove_agency(&code("PUPR"), false, now).await);
    assert_eq!(refused.rule(), "agency.in_use");
    assert!(refused.to_string().contains("1 token"), "{refused}");
    assert!(store.agency(&code("PUPR")).await.unwrap().is_some());

    let later = wib("2026-12-02 09:00");
    assert_eq!(
        store
            .remove_agency(&code("PUPR"), true, later)
            .await
            .unwrap(),
        Removed::Retired
    );
    let retired = store.agency(&code("PUPR")).await.unwrap().unwrap();
    assert_eq!(retired.retired_at, Some(later));
    assert_eq!(retired.details, pupr(), "kept for the records that name it");
    assert_eq!(
        refusal(store.active_agency("PUPR").await),
        Refusal::RetiredAgency(code("PUPR"))
    );
    assert_eq!(
        refusal(store.register_agency("PUPR", &pupr(), later).await),
        Refusal::RetiredAgency(code("PUPR"))
    );

    let back = AgencyChange {
        reinstate: true,
        ..Default::default()
    };
    let reinstated = store
        .update_agency(&code("PUPR"), &back, later)
        .await
        .unwrap();
    assert_eq!(reinstated.retired_at, None);
    assert_eq!(
        store.active_agency("PUPR").await.unwrap().code,
        code("PUPR")
    );
    store.create_token(&head("PUPR"), later).await.unwrap();
    store.close().await;
}
both!(
    an_agency_something_names_is_retired,
    an_agency_something_names_is_retired_not_removed
);

async fn last_used(store: &Store, user: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.user.0 == user)
        .unwrap()
        .last_used_at
}

async fn tokens_expire_and_record_their_last_use_once_a_minute(db: TestDb) {
    let store = db.open().await;
    let t0 = wib("2026-12-01 09:00");
    let until = t0 + TimeDelta::days(90);
    let token = store
        .create_expiring_token(&upp(), until, t0)
        .await
        .unwrap();
    let forever = store.create_token(&apip(), t0).await.unwrap();
    assert_eq!(
        refusal(store.create_expiring_token(&upp(), t0, t0).await),
        Refusal::ExpiryNotInFuture
    );
    assert_eq!(
        store.tokens().await.unwrap().len(),
        2,
        "the refused one is not written"
    );

    let listed = store.tokens().await.unwrap();
    let sari = listed.iter().find(|t| t.user.0 == "sari.upp").unwrap();
    assert_eq!(sari.role, Role::Upp);
    assert_eq!(
        (
            sari.created_at,
            sari.expires_at,
            sari.last_used_at,
            sari.revoked_at
        ),
        (t0, Some(until), None, None)
    );
    let shown = format!("{listed:?} {}", serde_json::to_string(&listed).unwrap());
    assert!(!shown.contains(&token[6..]), "never the secret: {shown}");
    assert!(!shown.contains(&token[6..14]), "nor a part of it");

    // Used: written once, then not again within the minute.
    let t1 = t0 + TimeDelta::hours(1);
    assert_eq!(store.authenticate(&token, t1).await.unwrap(), Some(upp()));
    assert_eq!(last_used(&store, "sari.upp").await, Some(t1));
    let soon = t1 + TimeDelta::seconds(59);
    assert!(store.authenticate(&token, soon).await.unwrap().is_some());
    assert_eq!(
        last_used(&store, "sari.upp").await,
        Some(t1),
        "not within the minute"
    );
    let later = t1 + TimeDelta::seconds(61);
    assert!(store.authenticate(&token, later).await.unwrap().is_some());
    assert_eq!(last_used(&store, "sari.upp").await, Some(later));

    // Refused from its expiry on, like an unknown token; the other goes on.
    let just_before = until - TimeDelta::seconds(1);
    assert!(store
        .authenticate(&token, just_before)
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.authenticate(&token, until).await.unwrap(), None);
    assert_eq!(
        store
            .authenticate(&token, until + TimeDelta::days(1))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.authenticate(&forever, until).await.unwrap(),
        Some(apip())
    );
    assert_eq!(store.authenticate("aduan_nope", t1).await.unwrap(), None);

    // Revoked: listed as such, refused.
    store.revoke_tokens("sari.upp", later).await.unwrap();
    assert_eq!(store.authenticate(&token, later).await.unwrap(), None);
    let sari = store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.user.0 == "sari.upp")
        .unwrap();
    assert_eq!(sari.revoked_at, Some(later));
    store.close().await;
}
both!(
    tokens_expire_and_record_their_last_use,
    tokens_expire_and_record_their_last_use_once_a_minute
);

async fn a_read_only_store_authenticates_without_writing(db: TestDb) {
    let now = wib("2026-12-01 09:00");
    let store = db.open().await;
    let token = store.create_token(&upp(), now).await.unwrap();
    store.close().await;

    let reader = Store::open_read_only(&db.url, ComplaintServices::builtin())
        .await
        .unwrap();
    assert_eq!(
        reader.authenticate(&token, now).await.unwrap(),
        Some(upp()),
        "the write of its last use is left out, not an error"
    );
    assert_eq!(reader.tokens().await.unwrap()[0].last_used_at, None);
    assert!(matches!(
        reader.register_agency("PUPR", &pupr(), now).await,
        Err(StoreError::ReadOnly(_))
    ));
    reader.close().await;
}
both!(
    a_read_only_store_authenticates,
    a_read_only_store_authenticates_without_writing
);

async fn an_earlier_versions_agencies_are_registered_by_the_migration(db: TestDb) {
    use sqlx::Executor;
    // An earlier version's database: every migration before the registry's, and the
    // codes its tokens and uploads named (one of them lower-case, as it once allowed).
    let migrator = match db.backend {
        workflow_store::testing::Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        workflow_store::testing::Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    let earlier = sqlx::migrate::Migrator {
        migrations: migrator
            .iter()
            .filter(|m| m.version < 20261129000012)
            .cloned()
            .collect::<Vec<_>>()
            .into(),
        ..migrator
    };
    db.create_foreign("SELECT 1").await;
    let mut conn = db.raw().await;
    earlier.run(&mut conn).await.unwrap();
    let at = "2026-11-30T02:00:00.000000Z";
    conn.execute(
        format!(
            "INSERT INTO api_tokens (token_hash, user_name, role, agency, created_at) VALUES \
             ('{h1}', 'andi', 'liaison', 'PUPR', '{at}'), ('h2', 'budi', 'liaison', 'pupr', '{at}'), \
             ('h3', 'sari', 'upp', NULL, '{at}'); \
             INSERT INTO evidence_uploads (sha256, user_name, role, agency, uploaded_at) VALUES \
             ('ab', 'dina', 'liaison', 'DINKES', '{at}')",
            h1 = hex_sha256("aduan_earlier"),
        )
        .as_str(),
    )
    .await
    .unwrap();
    drop(conn);

    let store = db.open().await;
    let agencies = store.agencies().await.unwrap();
    let codes: Vec<_> = agencies.iter().map(|a| a.code.0.as_str()).collect();
    assert_eq!(codes, ["DINKES", "PUPR"], "well-formed codes only");
    assert_eq!(
        agencies[1].details,
        AgencyDetails::named("PUPR"),
        "named by its code"
    );
    let now = wib("2026-12-01 09:00");
    assert_eq!(
        store.authenticate("aduan_earlier", now).await.unwrap(),
        Some(Actor::of_agency("andi", Role::Liaison, "PUPR")),
        "an earlier token goes on, and never expires"
    );
    store.create_token(&liaison("PUPR"), now).await.unwrap();
    store.close().await;
}
both!(
    an_earlier_versions_agencies_are_registered,
    an_earlier_versions_agencies_are_registered_by_the_migration
);

fn hex_sha256(text: &str) -> String {
    use sha2::Digest;
    workflow_store::chain::hex(&sha2::Sha256::digest(text.as_bytes()))
}
