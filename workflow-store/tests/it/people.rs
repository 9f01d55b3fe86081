//! The people of the web console: a one-time link sets the password, argon2id checks
//! it, repeated failures lock a person out, sessions end when idle, at their limit, at
//! sign-out and when the person is disabled, and every sign-in is a new session.

use chrono::Duration;
use workflow_core::fixtures::*;
use workflow_core::Actor;
use workflow_store::people::{
    PasswordRefused, SignInRefused, IDLE_FOR, LASTS_AT_MOST, LOCKED_FOR, MAX_FAILURES,
    SET_PASSWORD_FOR,
};
use workflow_store::testing::TestDb;
use workflow_store::{both, StoreError};

const PASSWORD: &str = "jembatan-kapuas-2026";

async fn people_sign_in_with_a_password_set_through_their_link(db: TestDb) {
    let store = db.open().await;
    let t0 = wib("2026-12-01 08:00");
    let andi = liaison("PUPR");
    let link = store.add_person(&andi, t0).await.unwrap();
    // Not set up yet: no sign-in, and the answer says nothing more than a wrong name.
    assert_eq!(
        store.sign_in("andi.pupr", PASSWORD, t0).await.unwrap(),
        Err(SignInRefused::WrongCredentials)
    );
    assert!(matches!(
        store.add_person(&andi, t0).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .add_person(&Actor::new("tanpa.dinas", workflow_core::Role::Liaison), t0)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.set_password(&link, "pendek", t0).await.unwrap(),
        Err(PasswordRefused::TooShort)
    );
    assert_eq!(
        store.set_password(&link, PASSWORD, t0).await.unwrap(),
        Ok(andi.clone())
    );
    assert_eq!(
        store.set_password(&link, PASSWORD, t0).await.unwrap(),
        Err(PasswordRefused::LinkInvalid),
        "a link is used once"
    );

    let first = store
        .sign_in(&andi.user.0, PASSWORD, t0)
        .await
        .unwrap()
        .unwrap();
    let second = store
        .sign_in(&andi.user.0, PASSWORD, t0)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(
        first.secret, second.secret,
        "every sign-in is a new session"
    );
    assert_ne!(first.csrf, second.csrf);
    let live = store.session(&first.secret, t0).await.unwrap().unwrap();
    assert_eq!((live.actor, live.csrf), (andi.clone(), first.csrf.clone()));
    assert_eq!(store.session("not-a-session", t0).await.unwrap(), None);

    // Idle too long, or past its limit however used: ended.
    let used = t0 + IDLE_FOR - Duration::minutes(1);
    assert!(store.session(&first.secret, used).await.unwrap().is_some());
    assert!(
        store
            .session(&first.secret, used + IDLE_FOR - Duration::minutes(1))
            .await
            .unwrap()
            .is_some(),
        "each use moves the idle limit"
    );
    assert_eq!(
        store.session(&second.secret, t0 + IDLE_FOR).await.unwrap(),
        None,
        "idle for the whole limit"
    );
    // Used every hour, it still ends at its limit.
    for hour in 1..LASTS_AT_MOST.num_hours() {
        let at = t0 + Duration::hours(hour);
        assert!(
            store.session(&first.secret, at).await.unwrap().is_some(),
            "{at}"
        );
    }
    assert_eq!(
        store
            .session(&first.secret, t0 + LASTS_AT_MOST)
            .await
            .unwrap(),
        None,
        "the absolute limit"
    );

    // Sign-out ends it at once.
    let third = store
        .sign_in(&andi.user.0, PASSWORD, t0)
        .await
        .unwrap()
        .unwrap();
    store.sign_out(&third.secret, t0).await.unwrap();
    assert_eq!(store.session(&third.secret, t0).await.unwrap(), None);
    store.close().await;
}
both!(
    people_sign_in,
    people_sign_in_with_a_password_set_through_their_link
);

async fn repeated_wrong_passwords_lock_a_person_out_and_disabling_ends_sessions(db: TestDb) {
    let store = db.open().await;
    let t0 = wib("2026-12-01 08:00");
    let sari = upp();
    let link = store.add_person(&sari, t0).await.unwrap();
    store
        .set_password(&link, PASSWORD, t0)
        .await
        .unwrap()
        .unwrap();
    let kept = store
        .sign_in(&sari.user.0, PASSWORD, t0)
        .await
        .unwrap()
        .unwrap();
    for _ in 1..MAX_FAILURES {
        assert_eq!(
            store
                .sign_in(&sari.user.0, "salah-sekali", t0)
                .await
                .unwrap(),
            Err(SignInRefused::WrongCredentials)
        );
    }
    let until = t0 + LOCKED_FOR;
    assert_eq!(
        store
            .sign_in(&sari.user.0, "salah-sekali", t0)
            .await
            .unwrap(),
        Err(SignInRefused::Locked { until })
    );
    // Locked: even the right password waits.
    assert_eq!(
        store
            .sign_in(&sari.user.0, PASSWORD, t0 + Duration::minutes(5))
            .await
            .unwrap(),
        Err(SignInRefused::Locked { until })
    );
    assert!(store
        .sign_in(&sari.user.0, PASSWORD, until)
        .await
        .unwrap()
        .is_ok());
    let listed = store.people().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].password_set);

    assert!(store.disable_person(&sari.user.0, t0).await.unwrap());
    assert_eq!(store.session(&kept.secret, t0).await.unwrap(), None);
    assert_eq!(
        store.sign_in(&sari.user.0, PASSWORD, until).await.unwrap(),
        Err(SignInRefused::WrongCredentials)
    );
    assert!(!store.disable_person("nobody", t0).await.unwrap());

    // A link lapses.
    let late = store.add_person(&apip(), t0).await.unwrap();
    assert_eq!(
        store
            .set_password(&late, PASSWORD, t0 + SET_PASSWORD_FOR)
            .await
            .unwrap(),
        Err(PasswordRefused::LinkInvalid)
    );
    store.close().await;
}
both!(
    lock_out,
    repeated_wrong_passwords_lock_a_person_out_and_disabling_ends_sessions
);
