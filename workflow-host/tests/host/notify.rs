//! Notifications through the outbox, with real parts on loopback: an SMTP server
//! (aiosmtpd, which can refuse recipients), an HTTP receiver (axum) that can
//! answer 500 or hang, and the dispatcher of `aduan serve` over a real store. Every wait
//! is bounded (a loop of fixed length, a timeout): a regression fails, it does not hang.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use workflow_core::complainant::{Complainant, Confidentiality, PersonalData};
use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_host::notify::{
    message_id, signature, Dispatcher, NotifyConfig, SmtpConfig, WebhookConfig,
};
use workflow_store::outbox::{DeliveryState, RetryPolicy};
use workflow_store::testing::{play, step, Backend, TestDb};
use workflow_store::Store;

const SECRET: &[u8] = b"a webhook secret of the tests";

/// One e-mail the SMTP server accepted.
#[derive(Clone, Debug)]
struct Mail {
    to: String,
    data: String,
}

impl Mail {
    fn header(&self, name: &str) -> Option<String> {
        self.data.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// A real SMTP server on loopback: aiosmtpd (PyPI), run by `tests/smtp/sink.py`, which
/// writes each message it accepts to a folder and refuses every recipient while the
/// folder holds a file named `refuse`. Stopped when dropped.
struct SmtpServer {
    addr: SocketAddr,
    folder: tempfile::TempDir,
    // The tests that refuse recipients run on SQLite.
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    refuse: Refuse,
    child: std::process::Child,
}

/// Whether the server refuses recipients (a file it looks for at each `RCPT`).
struct Refuse(std::path::PathBuf);

impl Refuse {
    #[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
    fn store(&self, on: bool, _: Ordering) {
        if on {
            std::fs::write(&self.0, b"").unwrap();
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

impl SmtpServer {
    async fn start() -> Self {
        use std::io::BufRead;
        let python = crate::support::smtp::python();
        let folder = tempfile::tempdir().unwrap();
        let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let mut child = std::process::Command::new(python)
            .arg(&script)
            .arg(folder.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the SMTP server starts");
        // The first line is the port, once it listens (bounded: the script prints it
        // or exits, which ends the read).
        let mut port = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        let port: u16 = port
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("the SMTP server did not start: `{port}`"));
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            refuse: Refuse(folder.path().join("refuse")),
            folder,
            child,
        }
    }

    /// Every message accepted, one per recipient, in the order accepted.
    fn mails(&self) -> Vec<Mail> {
        let mut names: Vec<_> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        names.sort();
        let mut mails = Vec::new();
        for name in names {
            let message: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&name).unwrap()).unwrap();
            let data = message["data"].as_str().unwrap_or_default().to_owned();
            for to in message["to"].as_array().into_iter().flatten() {
                mails.push(Mail {
                    to: to.as_str().unwrap_or_default().to_owned(),
                    data: data.clone(),
                });
            }
        }
        mails
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One request the webhook receiver got.
#[derive(Clone, Debug)]
struct Hit {
    key: String,
    accepted: bool,
    verified: bool,
}

const ANSWER_OK: u8 = 0;
const ANSWER_500: u8 = 1;
// The tests of a hanging receiver run on SQLite.
#[cfg_attr(not(feature = "sqlite"), allow(dead_code))]
const HANG: u8 = 2;

#[derive(Clone)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    mode: Arc<AtomicU8>,
    arrived: Arc<tokio::sync::Notify>,
}

/// An HTTP receiver on loopback that checks each request's signature.
async fn receiver() -> (String, Receiver) {
    let state = Receiver {
        hits: Arc::new(Mutex::new(Vec::new())),
        mode: Arc::new(AtomicU8::new(ANSWER_OK)),
        arrived: Arc::new(tokio::sync::Notify::new()),
    };
    async fn hook(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let get = |n: &str| {
            headers
                .get(n)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let timestamp = get("x-aduan-timestamp");
        let verified = get("x-aduan-signature") == signature(SECRET, &timestamp, &body);
        let key = get("x-aduan-idempotency-key");
        let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        assert_eq!(
            parsed["key"],
            key.as_str(),
            "the body names the key the header carries"
        );
        let mode = r.mode.load(Ordering::SeqCst);
        r.hits.lock().unwrap().push(Hit {
            key,
            accepted: mode == ANSWER_OK,
            verified,
        });
        r.arrived.notify_one();
        match mode {
            ANSWER_OK => StatusCode::OK,
            ANSWER_500 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => {
                // The fault under test: a receiver that never answers in time (the
                // dispatcher's client times out long before this ends).
                tokio::time::sleep(Duration::from_secs(60)).await;
                StatusCode::OK
            }
        }
    }
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(hook))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, state)
}

impl Receiver {
    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap().clone()
    }

    /// Accepted deliveries per key.
    fn accepted(&self) -> BTreeMap<String, usize> {
        let mut per_key = BTreeMap::new();
        for h in self.hits().into_iter().filter(|h| h.accepted) {
            *per_key.entry(h.key).or_insert(0) += 1;
        }
        per_key
    }
}

fn config(smtp: Option<SocketAddr>, webhook: Option<&str>, worker: &str) -> NotifyConfig {
    NotifyConfig {
        smtp: smtp.map(|a| SmtpConfig::parse(&format!("smtp://{a}"), "aduan@kapuas.test").unwrap()),
        webhook: webhook.map(|url| WebhookConfig {
            url: url.to_owned(),
            secret: SECRET.to_vec(),
        }),
        templates: None,
        retry: RetryPolicy {
            max_attempts: 3,
            base: Duration::from_millis(20),
            cap: Duration::from_millis(80),
        },
        timeout: Duration::from_millis(800),
        poll: Duration::from_millis(20),
        lease: Duration::from_millis(400),
        worker: worker.to_owned(),
    }
}

/// The people notified: the liaison officer and head of DINKES, the coordinator.
async fn people(store: &Store) {
    let now = chrono::Utc::now();
    for (actor, email) in [
        (liaison("DINKES"), "penghubung@dinkes.test"),
        (head("DINKES"), "kepala@dinkes.test"),
        (coordinator(), "ketua@kapuas.test"),
    ] {
        store.add_person(&actor, now).await.unwrap();
        assert!(store
            .set_person_email(&actor.user.0, Some(email))
            .await
            .unwrap());
    }
}

fn registration_with_email() -> workflow_core::complaint::command::Registration {
    let mut r = registration();
    r.complainant = Complainant::plain(
        PersonalData {
            name: "Budi Santoso".into(),
            email: Some("budi@warga.test".into()),
            ..PersonalData::default()
        },
        Confidentiality::Anonymous,
    );
    r
}

/// ADU-N1 through to the response (disposition, BA, response: 3 e-mails and 3
/// webhooks); ADU-N2 disposed and then late (breaches: the head and the coordinator).
async fn scenario(store: &Store) {
    people(store).await;
    let a = "ADU-N1";
    play(
        store,
        vec![
            step(
                a,
                "2026-11-30 09:00",
                upp(),
                C::Register(registration_with_email()),
            ),
            step(
                a,
                "2026-11-30 09:10",
                upp(),
                C::Dispose(disposition("DINKES")),
            ),
            step(
                a,
                "2026-11-30 10:00",
                liaison("DINKES"),
                C::Review(complete_review()),
            ),
            step(
                a,
                "2026-11-30 11:00",
                liaison("DINKES"),
                C::Clarify(clarification(true)),
            ),
            step(
                a,
                "2026-12-01 10:00",
                liaison("DINKES"),
                C::VerifyInField(field_visit("2026-12-01")),
            ),
            step(
                a,
                "2026-12-01 14:00",
                liaison("DINKES"),
                C::IssueBa(berita_acara("DINKES", "2026-12-01")),
            ),
            step(
                a,
                "2026-12-02 09:00",
                liaison("DINKES"),
                C::Respond(response_text()),
            ),
            step(
                "ADU-N2",
                "2026-11-30 09:00",
                upp(),
                C::Register(registration()),
            ),
            step(
                "ADU-N2",
                "2026-11-30 09:10",
                upp(),
                C::Dispose(disposition("DINKES")),
            ),
        ],
    )
    .await;
    store.projector().catch_up().await.unwrap();
    store.sla_tick(wib("2026-12-10 09:00")).await.unwrap();
    store.projector().catch_up().await.unwrap();
}

/// Runs rounds until nothing is pending, at most `rounds` of them (with a short sleep
/// for the backoffs between).
async fn drain(dispatcher: &Dispatcher, store: &Store, rounds: usize) {
    let channels = dispatcher.channels();
    let pending = || async {
        store
            .outbox(Some(DeliveryState::Pending), 1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| channels.contains(&m.channel))
            .collect::<Vec<_>>()
    };
    for _ in 0..rounds {
        dispatcher.run_once().await.unwrap();
        if pending().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("still pending after {rounds} rounds: {:?}", pending().await);
}

/// A dispatcher without SMTP (a host restarted without its relay setting) leaves the
/// e-mails pending, not skipped: a dispatcher with SMTP delivers them afterwards.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_a_host_lacks_waits_for_a_host_with_it() {
    let db = TestDb::new(Backend::Sqlite, "a_channel_a_host_lacks_waits").await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    let emails = store
        .outbox(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel.as_str() == "email")
        .count();
    assert!(emails > 0);
    let (url, _hook) = receiver().await;
    let webhook_only =
        Dispatcher::new(Arc::clone(&store), config(None, Some(&url), "webhooks")).unwrap();
    drain(&webhook_only, &store, 100).await;
    let left: Vec<_> = store
        .outbox(Some(DeliveryState::Pending), 1000)
        .await
        .unwrap();
    assert_eq!(left.len(), emails, "every e-mail still pending: {left:?}");
    assert!(left
        .iter()
        .all(|m| m.channel.as_str() == "email" && m.attempts == 0));

    let smtp = SmtpServer::start().await;
    let with_smtp =
        Dispatcher::new(Arc::clone(&store), config(Some(smtp.addr), None, "mail")).unwrap();
    drain(&with_smtp, &store, 100).await;
    let all = store.outbox(None, 1000).await.unwrap();
    assert!(
        all.iter().all(|m| m.state == DeliveryState::Sent),
        "every message sent, the e-mails by the host with SMTP: {all:?}"
    );
    store.close().await;
}

/// The claim's own rules, on the store: a message whose lease lapsed on its last
/// attempt is dead, not claimed for ever; and a dispatcher whose lease lapsed cannot
/// record an outcome over the dispatcher that took the message over.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lapsed_leases_dead_letter_and_leave_the_outcome_to_the_holder() {
    use workflow_store::outbox::Channel;
    let db = TestDb::new(Backend::Sqlite, "lapsed_leases").await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    let policy = RetryPolicy {
        max_attempts: 2,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(1),
    };
    let lease = Duration::from_secs(60);
    let t0 = chrono::Utc::now();
    let later = |minutes: i64| t0 + chrono::Duration::minutes(minutes);
    let claim = |worker: &'static str, at| {
        let store = Arc::clone(&store);
        async move {
            store
                .claim_outbox(worker, &[Channel::Webhook], at, lease, 1, &policy)
                .await
                .unwrap()
        }
    };

    // Dispatcher A claims the first webhook and dies; after its lease B takes it over.
    let first = claim("a", t0).await;
    assert_eq!(first.len(), 1);
    let key = first[0].key.clone();
    let taken_over = claim("b", later(2)).await;
    assert_eq!(taken_over[0].key, key, "taken again once the lease lapsed");
    // A, back from the dead, reports: nothing changes, B holds the message.
    assert!(!store.outbox_sent(&key, "a", later(3)).await.unwrap());
    let state = store
        .outbox_failed(&key, "a", "late", &policy, later(3))
        .await
        .unwrap();
    assert_eq!(state, DeliveryState::Pending);
    let message = |all: Vec<workflow_store::outbox::OutboxMessage>| {
        all.into_iter().find(|m| m.key == key).unwrap()
    };
    let now = message(store.outbox(None, 1000).await.unwrap());
    assert_eq!((now.state, now.last_error), (DeliveryState::Pending, None));

    // B dies too, on the message's last attempt: once its lease lapses the message is
    // dead instead of being claimed a third time.
    let next = claim("c", later(4)).await;
    assert!(next.iter().all(|m| m.key != key), "{next:?}");
    let dead = message(store.outbox(None, 1000).await.unwrap());
    assert_eq!(dead.state, DeliveryState::Dead, "{dead:?}");
    assert!(dead.last_error.unwrap().contains("lease"));
    store.close().await;
}

on_each_backend!(every_notice_once_signed: every_notice_once_signed_sqlite, every_notice_once_signed_postgres);

async fn every_notice_once_signed(backend: Backend, name: &str) {
    let db = TestDb::new(backend, name).await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    let messages = store.outbox(None, 1000).await.unwrap();
    let recipients = |key_part: &str| {
        let mut r: Vec<String> = messages
            .iter()
            .filter(|m| m.key.contains(key_part) && m.channel.as_str() == "email")
            .map(|m| m.recipient.clone())
            .collect();
        r.sort();
        r.dedup();
        r
    };
    assert_eq!(recipients("/disposed/"), ["penghubung.dinkes"]);
    assert_eq!(recipients("/ba_issued/"), ["kepala.dinkes"]);
    assert_eq!(recipients("/responded/"), ["complainant"]);
    assert_eq!(recipients("/breached/"), ["kepala.dinkes", "ketua.tim"]);
    assert!(
        messages.iter().all(|m| m.state == DeliveryState::Pending),
        "{messages:?}"
    );

    // A replay of the projection writes no message again.
    store.projector().rebuild("outbox", |_| {}).await.unwrap();
    assert_eq!(
        store.outbox(None, 1000).await.unwrap().len(),
        messages.len()
    );

    let smtp = SmtpServer::start().await;
    let (url, hook) = receiver().await;
    let dispatcher = Dispatcher::new(
        Arc::clone(&store),
        config(Some(smtp.addr), Some(&url), "one"),
    )
    .unwrap();
    drain(&dispatcher, &store, 50).await;

    let after = store.outbox(None, 1000).await.unwrap();
    assert!(
        after.iter().all(|m| m.state == DeliveryState::Sent),
        "{after:?}"
    );
    // Exactly once each: one e-mail per e-mail message, one request per webhook message.
    let mails = smtp.mails();
    let email_keys: Vec<&str> = after
        .iter()
        .filter(|m| m.channel.as_str() == "email")
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(mails.len(), email_keys.len(), "{mails:?}");
    for key in &email_keys {
        let mail = mails
            .iter()
            .find(|m| m.header("X-Aduan-Idempotency-Key").as_deref() == Some(*key))
            .unwrap_or_else(|| panic!("no e-mail carries {key}: {mails:?}"));
        assert_eq!(mail.header("Message-ID"), Some(message_id(key)));
    }
    let to = |addr: &str| mails.iter().filter(|m| m.to == addr).count();
    assert_eq!(to("penghubung@dinkes.test"), 2, "both dispositions");
    assert_eq!(to("budi@warga.test"), 1, "the response");
    assert!(to("kepala@dinkes.test") >= 2, "the BA and the breaches");
    let response = mails.iter().find(|m| m.to == "budi@warga.test").unwrap();
    assert!(response.data.contains("Budi Santoso"), "{}", response.data);
    assert!(response.data.contains("ADU-N1"), "{}", response.data);
    // The complainant's address was opened for the notification, and that read recorded.
    let reads = store.identity_reads(&cid("ADU-N1")).await.unwrap();
    assert!(reads.iter().any(|r| r.via == "notification"), "{reads:?}");
    let webhook_keys: Vec<&str> = after
        .iter()
        .filter(|m| m.channel.as_str() == "webhook")
        .map(|m| m.key.as_str())
        .collect();
    let accepted = hook.accepted();
    assert_eq!(accepted.len(), webhook_keys.len(), "{accepted:?}");
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    assert!(hook.hits().iter().all(|h| h.verified), "{:?}", hook.hits());
    store.close().await;
}

on_each_backend!(a_replay_keeps_what_the_outbox_had_not_reached: replay_behind_sqlite, replay_behind_postgres);

/// A replay of the outbox switches its checkpoint to the log's head: the notices of the
/// events the live projection had not reached yet are written all the same, once, and
/// the ones it had written are not written again.
async fn a_replay_keeps_what_the_outbox_had_not_reached(backend: Backend, name: &str) {
    let db = TestDb::new(backend, name).await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    let before = store.outbox(None, 1000).await.unwrap().len();
    // A disposition the live projection has not seen yet: the replay comes first.
    play(
        &store,
        vec![
            step(
                "ADU-N3",
                "2026-12-03 09:00",
                upp(),
                C::Register(registration()),
            ),
            step(
                "ADU-N3",
                "2026-12-03 09:10",
                upp(),
                C::Dispose(disposition("DINKES")),
            ),
        ],
    )
    .await;
    store.projector().rebuild("outbox", |_| {}).await.unwrap();
    let after = store.outbox(None, 1000).await.unwrap();
    let of_n3: Vec<&str> = after
        .iter()
        .filter(|m| m.complaint_id == "ADU-N3")
        .map(|m| m.key.as_str())
        .collect();
    assert_eq!(
        of_n3,
        [
            "ADU-N3/2/disposed/email/penghubung.dinkes",
            "ADU-N3/2/disposed/webhook/webhook"
        ],
        "{after:?}"
    );
    assert_eq!(after.len(), before + 2);
    // And the live projection, caught up, writes nothing more.
    store.projector().catch_up().await.unwrap();
    assert_eq!(store.outbox(None, 1000).await.unwrap().len(), before + 2);
    store.close().await;
}

/// A receiver answering 500 and an SMTP server refusing recipients: each message is
/// tried `max_attempts` times, then dead; `retry` brings them back and they go.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_until_dead_then_redriven() {
    let db = TestDb::new(Backend::Sqlite, "refused_until_dead_then_redriven").await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    let total = store.outbox(None, 1000).await.unwrap().len();
    let smtp = SmtpServer::start().await;
    smtp.refuse.store(true, Ordering::SeqCst);
    let (url, hook) = receiver().await;
    hook.mode.store(ANSWER_500, Ordering::SeqCst);
    let dispatcher = Dispatcher::new(
        Arc::clone(&store),
        config(Some(smtp.addr), Some(&url), "one"),
    )
    .unwrap();
    drain(&dispatcher, &store, 100).await;
    let dead = store.outbox(Some(DeliveryState::Dead), 1000).await.unwrap();
    let skipped = store
        .outbox(Some(DeliveryState::Skipped), 1000)
        .await
        .unwrap();
    assert!(skipped.is_empty(), "{skipped:?}");
    assert_eq!(dead.len(), total);
    assert!(dead.iter().all(|m| m.attempts == 3), "{dead:?}");
    assert!(dead
        .iter()
        .filter(|m| m.channel.as_str() == "email")
        .all(|m| m.last_error.as_deref().unwrap_or_default().contains("SMTP")));
    assert!(dead
        .iter()
        .filter(|m| m.channel.as_str() == "webhook")
        .all(|m| m.last_error.as_deref().unwrap_or_default().contains("500")));
    assert!(smtp.mails().is_empty());
    let webhooks = dead
        .iter()
        .filter(|m| m.channel.as_str() == "webhook")
        .count();
    assert_eq!(hook.hits().len(), webhooks * 3, "three attempts each");

    // One message re-driven by its key, then every dead one.
    smtp.refuse.store(false, Ordering::SeqCst);
    hook.mode.store(ANSWER_OK, Ordering::SeqCst);
    assert!(store
        .retry_outbox(&dead[0].key, chrono::Utc::now())
        .await
        .unwrap());
    assert!(!store
        .retry_outbox("no/such/key", chrono::Utc::now())
        .await
        .unwrap());
    drain(&dispatcher, &store, 20).await;
    assert_eq!(
        store
            .outbox(Some(DeliveryState::Sent), 1000)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        store.retry_dead_outbox(chrono::Utc::now()).await.unwrap() as usize,
        total - 1
    );
    drain(&dispatcher, &store, 50).await;
    assert_eq!(
        store
            .outbox(Some(DeliveryState::Sent), 1000)
            .await
            .unwrap()
            .len(),
        total
    );
    assert_eq!(hook.accepted().len(), webhooks);
    assert!(hook.accepted().values().all(|n| *n == 1));
    store.close().await;
}

/// An SMTP relay that is down: attempts fail and are counted; nothing is lost.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_down_fails_and_waits() {
    let db = TestDb::new(Backend::Sqlite, "smtp_down_fails_and_waits").await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    // A port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dispatcher =
        Dispatcher::new(Arc::clone(&store), config(Some(closed), None, "one")).unwrap();
    dispatcher.run_once().await.unwrap();
    let emails: Vec<_> = store
        .outbox(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel.as_str() == "email")
        .collect();
    let tried: Vec<_> = emails.iter().filter(|m| m.attempts == 1).collect();
    assert!(!tried.is_empty());
    for m in &tried {
        assert_eq!(m.state, DeliveryState::Pending, "{m:?}");
        assert!(
            m.last_error.as_deref().unwrap_or_default().contains("SMTP"),
            "{m:?}"
        );
    }
    // Without a webhook configured, webhook messages wait for a host with one:
    // pending, never tried.
    let webhooks: Vec<_> = store
        .outbox(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel.as_str() == "webhook")
        .collect();
    assert!(!webhooks.is_empty());
    assert!(
        webhooks
            .iter()
            .all(|m| m.state == DeliveryState::Pending && m.attempts == 0),
        "{webhooks:?}"
    );
    store.close().await;
}

/// A receiver that hangs: the client gives up after its timeout, the message is tried
/// again, and the second delivery carries the same key.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_receiver_times_out_then_retried() {
    let db = TestDb::new(Backend::Sqlite, "hanging_receiver_times_out_then_retried").await;
    let store = Arc::new(db.open().await);
    people(&store).await;
    play(
        &store,
        vec![
            step(
                "ADU-H1",
                "2026-11-30 09:00",
                upp(),
                C::Register(registration()),
            ),
            step(
                "ADU-H1",
                "2026-11-30 09:10",
                upp(),
                C::Dispose(disposition("DINKES")),
            ),
        ],
    )
    .await;
    store.projector().catch_up().await.unwrap();
    let (url, hook) = receiver().await;
    hook.mode.store(HANG, Ordering::SeqCst);
    let dispatcher = Dispatcher::new(Arc::clone(&store), config(None, Some(&url), "one")).unwrap();
    let started = std::time::Instant::now();
    tokio::time::timeout(Duration::from_secs(10), dispatcher.run_once())
        .await
        .expect("the client's timeout ends the delivery")
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5));
    let hooks: Vec<_> = store
        .outbox(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel.as_str() == "webhook")
        .collect();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].state, DeliveryState::Pending);
    assert!(
        hooks[0]
            .last_error
            .as_deref()
            .unwrap()
            .contains("timed out"),
        "{hooks:?}"
    );
    hook.mode.store(ANSWER_OK, Ordering::SeqCst);
    drain(&dispatcher, &store, 50).await;
    let hits = hook.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    assert_eq!(hits[0].key, hits[1].key);
    assert_eq!(hook.accepted().len(), 1);
    store.close().await;
}

/// The dispatcher is stopped dead in the middle of a delivery (its task aborted while the
/// receiver holds the request); a new one takes the message once the lease lapses.
/// Nothing is lost, and the only duplicate carries the same key.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_delivery_nothing_lost() {
    let db = TestDb::new(Backend::Sqlite, "killed_mid_delivery_nothing_lost").await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    let webhooks = store
        .outbox(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.channel.as_str() == "webhook")
        .count();
    let (url, hook) = receiver().await;
    hook.mode.store(HANG, Ordering::SeqCst);
    let first =
        Arc::new(Dispatcher::new(Arc::clone(&store), config(None, Some(&url), "first")).unwrap());
    let arrived = hook.arrived.notified();
    let task = tokio::spawn(Arc::clone(&first).run(std::future::pending()));
    tokio::time::timeout(Duration::from_secs(10), arrived)
        .await
        .expect("a delivery reaches the receiver");
    task.abort();
    let _ = task.await;
    hook.mode.store(ANSWER_OK, Ordering::SeqCst);

    let second = Dispatcher::new(Arc::clone(&store), config(None, Some(&url), "second")).unwrap();
    drain(&second, &store, 100).await;
    let all = store.outbox(None, 1000).await.unwrap();
    assert!(
        all.iter()
            .filter(|m| m.channel.as_str() == "webhook")
            .all(|m| m.state == DeliveryState::Sent),
        "{all:?}"
    );
    let hits = hook.hits();
    let accepted = hook.accepted();
    assert_eq!(
        accepted.len(),
        webhooks,
        "every message delivered: {hits:?}"
    );
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    // The interrupted delivery reached the receiver once more, under the same key.
    assert_eq!(hits.len(), webhooks + 1, "{hits:?}");
    assert!(
        !hits[0].accepted && accepted.contains_key(&hits[0].key),
        "{hits:?}"
    );
    store.close().await;
}

/// Two dispatchers on one PostgreSQL database: each message is delivered exactly once.
#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_dispatchers_deliver_each_message_once() {
    let db = TestDb::new(
        Backend::Postgres,
        "two_dispatchers_deliver_each_message_once",
    )
    .await;
    let store = Arc::new(db.open().await);
    people(&store).await;
    let mut steps = Vec::new();
    for i in 0..12 {
        let id = format!("ADU-T{i:02}");
        steps.push(step(
            &id,
            "2026-11-30 09:00",
            upp(),
            C::Register(registration_with_email()),
        ));
        steps.push(step(
            &id,
            "2026-11-30 09:10",
            upp(),
            C::Dispose(disposition("DINKES")),
        ));
        steps.push(step(
            &id,
            "2026-11-30 10:00",
            liaison("DINKES"),
            C::ReportProgress(progress_report()),
        ));
    }
    play(&store, steps).await;
    store.projector().catch_up().await.unwrap();
    let total = store.outbox(None, 1000).await.unwrap();
    assert_eq!(
        total.len(),
        12 * 4,
        "disposition and progress, e-mail and webhook"
    );

    let other = Arc::new(db.open().await);
    let smtp = SmtpServer::start().await;
    let (url, hook) = receiver().await;
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    for (name, s) in [("a", Arc::clone(&store)), ("b", Arc::clone(&other))] {
        let mut cfg = config(Some(smtp.addr), Some(&url), name);
        cfg.lease = Duration::from_secs(30);
        let d = Arc::new(Dispatcher::new(s, cfg).unwrap());
        let mut rx = stopping.clone();
        tasks.push(tokio::spawn(d.run(async move {
            let _ = rx.wait_for(|s| *s).await;
        })));
    }
    let mut done = false;
    for _ in 0..400 {
        if store
            .outbox(Some(DeliveryState::Pending), 1000)
            .await
            .unwrap()
            .is_empty()
        {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop.send(true).unwrap();
    for t in tasks {
        tokio::time::timeout(Duration::from_secs(10), t)
            .await
            .expect("a dispatcher stops when told")
            .unwrap();
    }
    assert!(done, "all delivered within 10 s");
    let sent = store.outbox(Some(DeliveryState::Sent), 1000).await.unwrap();
    assert_eq!(sent.len(), total.len());
    assert!(
        sent.iter().all(|m| m.attempts == 1),
        "claimed once each: {sent:?}"
    );
    let accepted = hook.accepted();
    assert_eq!(accepted.len(), 24);
    assert!(accepted.values().all(|n| *n == 1), "{accepted:?}");
    assert_eq!(hook.hits().len(), 24);
    let mails = smtp.mails();
    assert_eq!(mails.len(), 24, "12 dispositions, 12 progress reports");
    let mut keys: Vec<String> = mails
        .iter()
        .filter_map(|m| m.header("X-Aduan-Idempotency-Key"))
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 24, "each e-mail once");
    other.close().await;
    store.close().await;
}

/// A step due within the at-risk window: its liaison officer is told once per run.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_risk_told_once() {
    let db = TestDb::new(Backend::Sqlite, "at_risk_told_once").await;
    let store = Arc::new(db.open().await);
    people(&store).await;
    play(
        &store,
        vec![
            step(
                "ADU-R1",
                "2026-11-30 09:00",
                upp(),
                C::Register(registration()),
            ),
            step(
                "ADU-R1",
                "2026-11-30 09:10",
                upp(),
                C::Dispose(disposition("DINKES")),
            ),
        ],
    )
    .await;
    store.projector().catch_up().await.unwrap();
    assert_eq!(
        store
            .enqueue_at_risk(wib("2026-11-30 12:00"))
            .await
            .unwrap(),
        0,
        "three working days remain"
    );
    let written = store
        .enqueue_at_risk(wib("2026-12-03 08:00"))
        .await
        .unwrap();
    assert!(written >= 2, "an e-mail and a webhook per step at risk");
    assert_eq!(
        store
            .enqueue_at_risk(wib("2026-12-03 09:00"))
            .await
            .unwrap(),
        0
    );
    let at_risk: Vec<_> = store
        .outbox(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.notice == workflow_store::outbox::Notice::AtRisk)
        .collect();
    assert_eq!(at_risk.len() as u64, written);
    assert!(at_risk
        .iter()
        .filter(|m| m.channel.as_str() == "email")
        .all(|m| m.recipient == "penghubung.dinkes"));
    let smtp = SmtpServer::start().await;
    let dispatcher =
        Dispatcher::new(Arc::clone(&store), config(Some(smtp.addr), None, "one")).unwrap();
    drain(&dispatcher, &store, 50).await;
    let mail = smtp
        .mails()
        .into_iter()
        .find(|m| m.data.contains("jatuh tempo"))
        .expect("the at-risk e-mail");
    assert_eq!(mail.to, "penghubung@dinkes.test");
    store.close().await;
}

/// The real binary: `user add --email`, `serve` delivering to a webhook that fails
/// until the messages are dead (seen on `/metrics` and in `outbox list`), `outbox retry
/// --all-dead` re-driving them, and `serve` stopping cleanly with its dispatcher.
#[cfg(feature = "sqlite")]
#[test]
fn serve_delivers_and_the_outbox_verbs_redrive() {
    use crate::support::{aduan, Server};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("aduan.db").display());
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(aduan(
        dir.path(),
        &url,
        &["agency", "add", "DINKES", "Dinas Kesehatan"],
    ));
    ok(aduan(
        dir.path(),
        &url,
        &[
            "user",
            "add",
            "penghubung.dinkes",
            "--role",
            "liaison",
            "--agency",
            "DINKES",
            "--email",
            "penghubung@dinkes.test",
        ],
    ));
    ok(aduan(
        dir.path(),
        &url,
        &["user", "email", "penghubung.dinkes", "pp@dinkes.test"],
    ));
    let refused = aduan(
        dir.path(),
        &url,
        &["user", "email", "penghubung.dinkes", "not an address"],
    );
    assert!(!refused.status.success());
    rt.block_on(async {
        let store = Store::open(&url, workflow_core::ComplaintServices::builtin())
            .await
            .unwrap();
        assert_eq!(
            store
                .person_email("penghubung.dinkes")
                .await
                .unwrap()
                .as_deref(),
            Some("pp@dinkes.test")
        );
        // Years ahead of the clock: the SLA monitor of `serve` (which judges by the wall
        // clock) finds nothing late or at risk, whenever the test runs.
        play(
            &store,
            vec![
                step(
                    "ADU-S1",
                    "2030-12-02 09:00",
                    upp(),
                    C::Register(registration()),
                ),
                step(
                    "ADU-S1",
                    "2030-12-02 09:10",
                    upp(),
                    C::Dispose(disposition("DINKES")),
                ),
            ],
        )
        .await;
        store.close().await;
    });
    let (hook_url, hook) = rt.block_on(receiver());
    hook.mode.store(ANSWER_500, Ordering::SeqCst);
    let secret = dir.path().join("webhook-secret");
    std::fs::write(&secret, [SECRET, b"\n"].concat()).unwrap();
    let server = Server::start_with(
        dir.path(),
        &url,
        &[
            "--metrics-public",
            "--webhook-url",
            &hook_url,
            "--webhook-secret-file",
            secret.to_str().unwrap(),
            "--notify-max-attempts",
            "2",
            "--notify-backoff",
            "20ms",
            "--notify-poll",
            "50ms",
        ],
    );
    let metric = |line: &str| {
        let text = server.get("/api/v1/metrics", None).text();
        text.lines().any(|l| l == line)
    };
    let mut dead = false;
    for _ in 0..200 {
        if metric("aduan_outbox_messages{state=\"dead\",channel=\"webhook\"} 1") {
            dead = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(dead, "{}", server.get("/api/v1/metrics", None).text());
    // No SMTP relay: the e-mail waits, pending, for a host with one.
    assert!(metric(
        "aduan_outbox_messages{state=\"pending\",channel=\"email\"} 1"
    ));
    assert_eq!(hook.hits().len(), 2, "two attempts");
    assert!(hook.hits().iter().all(|h| h.verified));
    let listed = ok(aduan(
        dir.path(),
        &url,
        &["outbox", "list", "--state", "dead"],
    ));
    assert!(
        listed.contains("ADU-S1/2/disposed/webhook/webhook"),
        "{listed}"
    );
    assert!(listed.contains("500"), "{listed}");

    hook.mode.store(ANSWER_OK, Ordering::SeqCst);
    ok(aduan(dir.path(), &url, &["outbox", "retry", "--all-dead"]));
    let mut sent = false;
    for _ in 0..200 {
        if hook.accepted().len() == 1 {
            sent = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(sent, "{:?}", hook.hits());
    let status = server.stop();
    assert!(
        status.success(),
        "serve stops cleanly with its dispatcher: {status:?}"
    );
    let listed = ok(aduan(
        dir.path(),
        &url,
        &["--json", "outbox", "list", "--state", "sent"],
    ));
    assert_eq!(listed.lines().count(), 1, "{listed}");
    let retried = aduan(dir.path(), &url, &["outbox", "retry", "no/such/key"]);
    assert!(!retried.status.success());
}

/// The coordinators' digest of a day with breaches: written once, listing them.
#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_coordinators_digest_once_a_day() {
    let db = TestDb::new(Backend::Sqlite, "the_coordinators_digest_once_a_day").await;
    let store = Arc::new(db.open().await);
    scenario(&store).await;
    // The breaches were recorded on 10 December (WIB).
    assert_eq!(
        store.enqueue_digest(wib("2026-12-10 20:00")).await.unwrap(),
        0
    );
    assert_eq!(
        store.enqueue_digest(wib("2026-12-11 08:00")).await.unwrap(),
        2
    );
    assert_eq!(
        store.enqueue_digest(wib("2026-12-11 09:00")).await.unwrap(),
        0
    );
    assert_eq!(
        store.enqueue_digest(wib("2026-12-12 09:00")).await.unwrap(),
        0
    );
    let smtp = SmtpServer::start().await;
    let dispatcher =
        Dispatcher::new(Arc::clone(&store), config(Some(smtp.addr), None, "one")).unwrap();
    drain(&dispatcher, &store, 50).await;
    let digest = smtp
        .mails()
        .into_iter()
        .find(|m| m.data.contains("Rekap tanggal 2026-12-10"))
        .expect("the digest");
    assert_eq!(digest.to, "ketua@kapuas.test");
    assert!(digest.data.contains("- ADU-N2: langkah"), "{}", digest.data);
    store.close().await;
}
