//! Later in a complaint's life: the retention policy, and registrations written before
//! identities were sealed.

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::ComplaintServices;
use workflow_store::keys::Revealed;
use workflow_store::testing::TestDb;
use workflow_store::{both, Store};

use super::{distinctive_registration, erase, register, wrapped_key};

async fn the_retention_policy_erases_identities_years_after_a_complaint_ended(db: TestDb) {
    let services = ComplaintServices {
        policy: std::sync::Arc::new(workflow_core::SlaPolicy {
            identity_retention_years: Some(2),
            ..workflow_core::SlaPolicy::default()
        }),
        ..ComplaintServices::builtin()
    };
    let store = db.open_with(services).await;
    register(&store, "ADU-R1").await;
    register(&store, "ADU-R2").await;
    let withdraw = cmd(
        "withdraw-R1",
        upp(),
        wib("2026-12-01 09:00"),
        C::Withdraw(withdrawal()),
    );
    store
        .engine()
        .execute(&cid("ADU-R1"), withdraw, None)
        .await
        .unwrap();
    store.projector().catch_up().await.unwrap();

    let early = store.sla_tick(wib("2028-11-30 09:00")).await.unwrap();
    assert_eq!(early.identities_erased, 0, "not yet two years: {early:?}");
    let due = store.sla_tick(wib("2028-12-02 09:00")).await.unwrap();
    assert_eq!(due.identities_erased, 1, "{due:?}");
    assert!(due.failed.is_empty(), "{due:?}");
    let ended = store.engine().load(&cid("ADU-R1")).await.unwrap();
    let erasure = ended.identity_erased().expect("erased by the policy");
    assert_eq!(erasure.by.0, workflow_core::Actor::system().user.0);
    assert!(erasure.legal_basis.contains("Retensi"), "{erasure:?}");
    assert_eq!(wrapped_key(&db, "ADU-R1").await, None);
    let open = store.engine().load(&cid("ADU-R2")).await.unwrap();
    assert!(
        open.identity_erased().is_none(),
        "a running complaint keeps its identity"
    );
    store.projector().catch_up().await.unwrap();
    let again = store.sla_tick(wib("2028-12-03 09:00")).await.unwrap();
    assert_eq!(again.identities_erased, 0, "erased once: {again:?}");
    store.close().await;
}
both!(
    retention,
    the_retention_policy_erases_identities_years_after_a_complaint_ended
);

async fn registrations_written_before_sealing_are_reported_and_new_ones_are_sealed(db: TestDb) {
    // A plain cqrs-es store of complaints, as a service built on the bare crates kept
    // it: its registrations hold the identity in plain.
    let at = wib("2026-11-30 09:00");
    db.plain_cqrs_es_store(vec![(
        "ADU-P1",
        cmd("p1", upp(), at, C::Register(distinctive_registration())),
    )])
    .await;
    Store::adopt(&db.url).await.unwrap();
    let store = db.open().await;
    register(&store, "ADU-P2").await;
    let plain = store.plain_identities().await.unwrap();
    assert_eq!(
        plain
            .iter()
            .map(|p| (p.complaint_id.as_str(), p.sequence.get(), p.erased))
            .collect::<Vec<_>>(),
        [("ADU-P1", 1, false)],
        "the adopted registration only; the new one is sealed"
    );
    // Its identity reads as it is, and erasing hides it on every read.
    let before = store.engine().load(&cid("ADU-P1")).await.unwrap();
    assert!(matches!(
        store
            .reveal_identity(&cid("ADU-P1"), &before)
            .await
            .unwrap(),
        Some(Revealed::Identity(_))
    ));
    store
        .engine()
        .execute(&cid("ADU-P1"), erase("ADU-P1", "2026-12-01 09:00"), None)
        .await
        .unwrap();
    let after = store.engine().load(&cid("ADU-P1")).await.unwrap();
    assert_eq!(
        store.reveal_identity(&cid("ADU-P1"), &after).await.unwrap(),
        Some(Revealed::Erased)
    );
    let plain = store.plain_identities().await.unwrap();
    assert_eq!(plain.len(), 1);
    assert!(plain[0].erased, "reported as erased, the bytes remain");
    store.close().await;
}
both!(
    plain_identities,
    registrations_written_before_sealing_are_reported_and_new_ones_are_sealed
);

/// Evidence marked personal is sealed with its complaint's key (made for a complaint
/// still to be registered, and the registration then uses the same key), opens only for
/// that complaint and unaltered, is erased with the identity, and no key is made for an
/// erased complaint again.
async fn personal_evidence_is_sealed_with_the_complaints_key_and_erased_with_it(db: TestDb) {
    use workflow_store::keys::{OpenedEvidence, SealedEvidence};
    let store = db.open().await;
    let scan = b"%PDF-1.4 KTP-SCAN-MARK-7781".to_vec();
    let id = cid("ADU-E1");
    let sealed = store
        .seal_evidence(&id, "application/pdf", &scan)
        .await
        .unwrap();
    assert!(
        !sealed.windows(13).any(|w| w == b"KTP-SCAN-MARK"),
        "the sealed blob holds no plaintext"
    );
    let header = SealedEvidence::read(&sealed).expect("a sealed blob names itself");
    assert_eq!(
        (
            header.complaint_id.as_str(),
            header.media_type.as_str(),
            header.size
        ),
        ("ADU-E1", "application/pdf", scan.len() as u64)
    );
    let key_before = wrapped_key(&db, "ADU-E1").await.expect("a key was made");
    register(&store, "ADU-E1").await;
    assert_eq!(
        wrapped_key(&db, "ADU-E1").await.as_deref(),
        Some(key_before.as_str()),
        "the registration seals with the same key"
    );
    match store.open_evidence(&id, &sealed).await.unwrap() {
        OpenedEvidence::Bytes(h, bytes) => {
            assert_eq!(h, header);
            assert_eq!(bytes.as_slice(), scan.as_slice());
        }
        OpenedEvidence::Erased => panic!("not erased yet"),
    }
    // Another complaint's, altered, or its clear header changed: refused, naming it.
    let err = store
        .open_evidence(&cid("ADU-E2"), &sealed)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("ADU-E2"), "{err}");
    let mut altered = sealed.clone();
    *altered.last_mut().unwrap() ^= 1;
    let err = store.open_evidence(&id, &altered).await.unwrap_err();
    assert!(err.to_string().contains("ADU-E1"), "{err}");
    let at = sealed
        .windows(15)
        .position(|w| w == b"application/pdf")
        .expect("the header names the type");
    let mut relabelled = sealed.clone();
    relabelled[at..at + 15].copy_from_slice(b"application/pdx");
    assert!(store.open_evidence(&id, &relabelled).await.is_err());

    store
        .engine()
        .execute(&id, erase("ADU-E1", "2026-12-01 09:00"), None)
        .await
        .unwrap();
    assert!(matches!(
        store.open_evidence(&id, &sealed).await.unwrap(),
        OpenedEvidence::Erased
    ));
    let refused = store
        .seal_evidence(&id, "application/pdf", &scan)
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            workflow_store::StoreError::Domain(
                workflow_core::DomainError::IdentityAlreadyErased { .. }
            )
        ),
        "{refused:?}"
    );
    assert_eq!(
        wrapped_key(&db, "ADU-E1").await,
        None,
        "no key is made for an erased complaint"
    );
    store.close().await;
}
both!(
    personal_evidence,
    personal_evidence_is_sealed_with_the_complaints_key_and_erased_with_it
);
