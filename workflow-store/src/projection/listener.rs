//! Wake-ups for the commits of other hosts on one PostgreSQL database: each append
//! sends `NOTIFY aduan_events`, and the projector listens.

use std::time::Duration;

use crate::log::SqlLog;

/// The listener's pace.
#[derive(Clone, Copy, Debug)]
#[cfg_attr(not(feature = "postgres"), allow(dead_code))]
pub(crate) struct Pace {
    /// How long it waits before it tries again to listen, after its session could not
    /// be made or failed (the projector's poll still runs meanwhile).
    pub retry: Duration,
    /// After this long without a notification it asks the server whether its session
    /// is still there: a link dropped without a word (a firewall's idle timeout, an
    /// address moved to another machine) would otherwise keep it waiting for good.
    pub quiet: Duration,
    /// How long the server has to answer that question before the session is given up.
    pub answer: Duration,
}

impl Pace {
    /// The pace of a running host.
    pub(crate) const HOST: Pace = Pace {
        retry: Duration::from_secs(1),
        quiet: Duration::from_secs(60),
        answer: Duration::from_secs(10),
    };
}

/// What wakes the projector when another host commits (PostgreSQL's notifications);
/// never resolves on SQLite, where every writer is in this process.
///
/// The listening is done by a task of its own, each session on a connection of its own
/// (a pool of one, apart from the store's pools), which bumps a counter the projector
/// waits on. The projector's wait is dropped whenever something else wakes it first:
/// sqlx's `PgListener::try_recv`, given up while it made its session again, handed that
/// connection back to the pool it came from still subscribed to the channel. Here the
/// projector waits only on the counter; the task alone gives up a wait of the listener
/// (past its quiet time), and then only a connection of the session's own pool, which
/// nothing else uses, can be handed back.
pub(crate) struct OtherHosts {
    woken: Option<tokio::sync::watch::Receiver<u64>>,
}

impl OtherHosts {
    /// Starts listening on `log`'s database (PostgreSQL), telling the log's
    /// [`crate::health::Health`] whether it listens; on SQLite, there is nothing to
    /// listen to. The task ends once this is dropped.
    pub(crate) fn listen(log: &SqlLog, pace: Pace) -> Self {
        #[cfg(feature = "postgres")]
        #[allow(irrefutable_let_patterns)] // in a build without SQLite
        if let crate::backend::TypedPool::Postgres(pool) = &log.db().typed {
            return Self::listen_with((*pool.connect_options()).clone(), log.clone(), pace);
        }
        let _ = (log, pace);
        Self { woken: None }
    }

    /// Starts listening through sessions made with `options`, telling `log`'s health.
    #[cfg(feature = "postgres")]
    fn listen_with(options: sqlx::postgres::PgConnectOptions, log: SqlLog, pace: Pace) -> Self {
        let (wake, woken) = tokio::sync::watch::channel(0u64);
        let token = log.health().listener_started();
        tokio::spawn(async move { listen_on(options, &wake, &log, token, pace).await });
        Self { woken: Some(woken) }
    }

    /// Resolves when another host may have committed: a notification came, or the
    /// listener's session was made again (what was sent meanwhile went unheard).
    /// Cancel-safe.
    pub(crate) async fn committed(&mut self) {
        if let Some(woken) = self.woken.as_mut() {
            if woken.changed().await.is_ok() {
                return;
            }
        }
        std::future::pending().await
    }
}

/// How a session of the listener ended.
#[cfg(feature = "postgres")]
enum Ended {
    /// Nobody waits for wake-ups any more.
    Stopped,
    /// It could not be made: another is tried after the pace's `retry`.
    Failed(String),
    /// It listened from `since` until `lost_at` and then ended (the server ended it,
    /// or it failed), or went silent (`lost_at` is when it was last heard): another is
    /// made at once when it had listened for at least the pace's `retry`.
    Lost {
        why: String,
        since: tokio::time::Instant,
        lost_at: chrono::DateTime<chrono::Utc>,
    },
}

/// Tells `log`'s health that the listener `token` stopped, however its task ends.
#[cfg(feature = "postgres")]
struct Stopping<'a> {
    log: &'a SqlLog,
    token: u64,
}

#[cfg(feature = "postgres")]
impl Drop for Stopping<'_> {
    fn drop(&mut self) {
        self.log.health().listener_stopped(self.token);
    }
}

/// The listener's task: sessions one after another, each on a pool of its own, until
/// every receiver of `wake` is gone. A failure is logged as a warning once, until a
/// session is made again, and told to `log`'s health each time.
#[cfg(feature = "postgres")]
async fn listen_on(
    options: sqlx::postgres::PgConnectOptions,
    wake: &tokio::sync::watch::Sender<u64>,
    log: &SqlLog,
    token: u64,
    pace: Pace,
) {
    let _stopping = Stopping { log, token };
    let mut failing = false;
    loop {
        // A pool per session: a session given up on a dead link may take long to let
        // go of its connection, and must not keep the next one waiting for it.
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(pace.answer)
            .connect_lazy_with(options.clone());
        let ended = session(&options, &pool, wake, (log, token), pace, &mut failing).await;
        drop(pool);
        let (why, at_once) = match ended {
            Ended::Stopped => return,
            Ended::Failed(why) => {
                log.health().listen_failed(token, &why, None);
                (why, false)
            }
            Ended::Lost {
                why,
                since,
                lost_at,
            } => {
                log.health().listen_failed(token, &why, Some(lost_at));
                (why, since.elapsed() >= pace.retry)
            }
        };
        if failing {
            tracing::debug!(error = %why, "cannot listen for other hosts' commits yet");
        } else {
            tracing::warn!(error = %why, "listening for other hosts' commits failed; trying again (meanwhile the projector polls)");
            failing = true;
        }
        if at_once {
            continue;
        }
        tokio::select! {
            _ = wake.closed() => return,
            _ = tokio::time::sleep(pace.retry) => {}
        }
    }
}

/// One session of the listener: made, then listening until it ends, fails, goes
/// silent, or nobody waits any more.
#[cfg(feature = "postgres")]
async fn session(
    options: &sqlx::postgres::PgConnectOptions,
    pool: &sqlx::postgres::PgPool,
    wake: &tokio::sync::watch::Sender<u64>,
    (log, token): (&SqlLog, u64),
    pace: Pace,
    failing: &mut bool,
) -> Ended {
    use sqlx::Connection;
    let bump = || wake.send_modify(|n| *n = n.wrapping_add(1));
    let listening = async {
        // First a connection of its own, closed at once: the pool would try again
        // until its timeout while the server refuses or is starting, and then say only
        // that it timed out; this says why, at once.
        sqlx::postgres::PgConnection::connect_with(options)
            .await?
            .close()
            .await?;
        let mut listener = sqlx::postgres::PgListener::connect_with(pool).await?;
        // A session the server ends is this task's to make again (and to tell), not
        // sqlx's to make again inside `try_recv`.
        listener.eager_reconnect(false);
        listener.listen("aduan_events").await?;
        Ok::<_, sqlx::Error>(listener)
    };
    let mut listener = tokio::select! {
        _ = wake.closed() => return Ended::Stopped,
        made = tokio::time::timeout(pace.answer * 2, listening) => match made {
            Ok(Ok(listener)) => listener,
            Ok(Err(e)) => return Ended::Failed(e.to_string()),
            Err(_) => return Ended::Failed("the server did not answer".into()),
        },
    };
    if std::mem::take(failing) {
        tracing::info!("listening for other hosts' commits again");
    }
    log.health().listening(token);
    let since = tokio::time::Instant::now();
    let mut heard_at = chrono::Utc::now();
    let lost = |why: String, lost_at| Ended::Lost {
        why,
        since,
        lost_at,
    };
    // Commits sent while no session listened went unheard: the projector looks.
    bump();
    loop {
        tokio::select! {
            _ = wake.closed() => return Ended::Stopped,
            got = tokio::time::timeout(pace.quiet, listener.try_recv()) => match got {
                Ok(Ok(Some(_))) => {
                    heard_at = chrono::Utc::now();
                    bump();
                }
                Ok(Ok(None)) => {
                    return lost("the server ended the session".into(), chrono::Utc::now())
                }
                Ok(Err(e)) => return lost(e.to_string(), chrono::Utc::now()),
                Err(_) => {
                    let asked = tokio::time::timeout(
                        pace.answer,
                        sqlx::query("SELECT 1").execute(&mut listener),
                    );
                    match asked.await {
                        Ok(Ok(_)) => heard_at = chrono::Utc::now(),
                        Ok(Err(e)) => return lost(e.to_string(), chrono::Utc::now()),
                        Err(_) => {
                            return lost(
                                format!(
                                    "the server did not answer within {:?}; its session is given up",
                                    pace.answer
                                ),
                                heard_at,
                            )
                        }
                    }
                }
            },
        }
    }
}

#[cfg(all(test, feature = "postgres", feature = "testing"))]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use sqlx::Row;

    use super::{OtherHosts, Pace};
    use crate::backend::TypedPool;
    use crate::health::Listening;
    use crate::testing::{Backend, TestDb};

    /// A wait given up after `left` polls: the projector's `select!` drops its wait for
    /// other hosts whenever another of its branches is ready first, at whatever point
    /// the wait had reached.
    struct GivenUpAfter<F> {
        future: Pin<Box<F>>,
        left: usize,
    }

    impl<F: Future> Future for GivenUpAfter<F> {
        type Output = Option<F::Output>;

        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            self.left -= 1;
            match self.future.as_mut().poll(cx) {
                Poll::Ready(v) => Poll::Ready(Some(v)),
                Poll::Pending => {
                    if self.left == 0 {
                        cx.waker().wake_by_ref();
                    }
                    Poll::Pending
                }
            }
        }
    }

    /// The sessions of this database whose last statement was a `LISTEN`.
    async fn listening(raw: &mut sqlx::AnyConnection) -> Vec<i64> {
        sqlx::query(
            "SELECT pid::bigint AS pid FROM pg_stat_activity WHERE datname = current_database() \
             AND pid <> pg_backend_pid() AND query LIKE 'LISTEN%' ORDER BY pid",
        )
        .fetch_all(raw)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get("pid"))
        .collect()
    }

    /// The one session that listens, once there is one (within 10 s).
    async fn the_listening_session(raw: &mut sqlx::AnyConnection) -> i64 {
        let bound = Instant::now() + Duration::from_secs(10);
        loop {
            let now = listening(raw).await;
            if now.len() == 1 {
                return now[0];
            }
            assert!(Instant::now() < bound, "one session listens: {now:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `other_hosts` wakes within `within`, else the test fails saying `what`.
    async fn wakes(other_hosts: &mut OtherHosts, within: Duration, what: &str) {
        tokio::time::timeout(within, other_hosts.committed())
            .await
            .unwrap_or_else(|_| panic!("{what}: not woken within {within:?}"));
    }

    /// A `NOTIFY aduan_events`, as another host's commit sends, wakes `other_hosts`.
    async fn a_notification_wakes(raw: &mut sqlx::AnyConnection, other_hosts: &mut OtherHosts) {
        sqlx::query("NOTIFY aduan_events")
            .execute(raw)
            .await
            .unwrap();
        wakes(
            other_hosts,
            Duration::from_secs(10),
            "a notification wakes the projector",
        )
        .await;
    }

    /// The listener's session ended by the server (an administrator's
    /// `pg_terminate_backend`, a restart) while the projector gives up its wait at every
    /// point in turn: the listener listens again, no connection of the store's pool is
    /// left listening (a pool connection handed back mid-`LISTEN` would carry every
    /// commit's notification to whichever statement used it next), and a notification
    /// still wakes the projector.
    #[tokio::test]
    async fn a_cut_listener_listens_again_and_leaves_the_pool_alone() {
        const ROUNDS: usize = 30;
        let db = TestDb::new(Backend::Postgres, "listener").await;
        let store = db.open().await;
        let pool = match &store.log().db().typed {
            TypedPool::Postgres(pool) => pool.clone(),
            #[allow(unreachable_patterns)]
            _ => unreachable!("a PostgreSQL store"),
        };
        // Sessions that listened less than `retry` are made again after it.
        let pace = Pace {
            retry: Duration::from_millis(100),
            ..Pace::HOST
        };
        let mut other_hosts = OtherHosts::listen(store.log(), pace);
        let mut raw = db.raw().await;
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut cut = vec![the_listening_session(&mut raw).await];
        wakes(
            &mut other_hosts,
            Duration::from_secs(5),
            "listening wakes the projector",
        )
        .await;
        for round in 0..ROUNDS {
            // Before the cut: the listener may hear of it before this test does.
            let cut_at = chrono::Utc::now();
            let ended: i64 = sqlx::query(&format!(
                "SELECT COUNT(*) FILTER (WHERE pg_terminate_backend(pid)) AS n \
                 FROM pg_stat_activity WHERE pid = {}",
                cut[0]
            ))
            .fetch_one(&mut raw)
            .await
            .unwrap()
            .get("n");
            assert_eq!(ended, 1, "round {round}: the listener's session is cut");
            let mut polls = 1;
            let mut woken = false;
            cut = loop {
                let given_up = tokio::time::timeout(
                    Duration::from_secs(1),
                    GivenUpAfter {
                        future: Box::pin(other_hosts.committed()),
                        left: polls,
                    },
                )
                .await;
                woken |= matches!(given_up, Ok(Some(())));
                polls += 1;
                // A guard against waiting on the listener itself again: a connection
                // such a wait handed back reached the pool in a task of sqlx's own, a
                // moment later (without this pause the check below missed it).
                tokio::time::sleep(Duration::from_millis(20)).await;
                let mut idle = Vec::new();
                while let Some(conn) = pool.try_acquire() {
                    idle.push(conn);
                }
                for conn in &mut idle {
                    let channels: i64 =
                        sqlx::query_scalar("SELECT COUNT(*) FROM pg_listening_channels()")
                            .fetch_one(&mut **conn)
                            .await
                            .unwrap();
                    assert_eq!(
                        channels,
                        0,
                        "round {round}, given up after {} polls: a connection of the \
                         store's pool listens",
                        polls - 1
                    );
                }
                drop(idle);
                let now: Vec<i64> = listening(&mut raw)
                    .await
                    .into_iter()
                    .filter(|pid| *pid != cut[0])
                    .collect();
                if !now.is_empty() {
                    assert_eq!(now.len(), 1, "round {round}: one session listens");
                    if !woken {
                        let what = "listening again wakes the projector";
                        wakes(&mut other_hosts, Duration::from_secs(5), what).await;
                    }
                    // Health tells each cut once, and listening since after it.
                    let health = store.health().snapshot();
                    assert_eq!(health.listen_failures, round as u64 + 1, "{health:?}");
                    match health.other_hosts {
                        Some(Listening::Since(at)) => assert!(at > cut_at, "round {round}"),
                        other => panic!("round {round}: listening again: {other:?}"),
                    }
                    let told = health.last_listen_error.expect("the cut is told");
                    assert!(told.at >= cut_at, "round {round}: {told:?}");
                    break now;
                }
                assert!(
                    Instant::now() < deadline,
                    "round {round}: the listener did not listen again"
                );
            };
        }
        // Each session's wake-up taken, it stays quiet until a notification comes.
        assert!(
            tokio::time::timeout(Duration::from_millis(300), other_hosts.committed())
                .await
                .is_err(),
            "woken without a notification"
        );
        a_notification_wakes(&mut raw, &mut other_hosts).await;
        drop(other_hosts);
        store.close().await;
    }

    /// A host that cannot listen when its projector starts (here: its database takes
    /// no new sessions for a while) keeps trying, and listens once it can: a commit of
    /// another host then wakes its projector, not only its poll.
    #[tokio::test]
    async fn a_listener_that_cannot_listen_at_first_keeps_trying() {
        let db = TestDb::new(Backend::Postgres, "listener_late").await;
        let store = db.open().await;
        let mut raw = db.raw().await;
        let name: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&mut raw)
            .await
            .unwrap();
        let allow = |yes: bool| format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS {yes}");
        // Not from a session of the database itself, which may not refuse its own.
        let mut admin =
            <sqlx::PgConnection as sqlx::Connection>::connect(&crate::testing::server_url())
                .await
                .unwrap();
        sqlx::query(&allow(false))
            .execute(&mut admin)
            .await
            .unwrap();
        let health = || store.health().snapshot();
        assert_eq!(health().other_hosts, None, "no listener before it starts");
        let mut other_hosts = OtherHosts::listen(store.log(), Pace::HOST);
        sqlx::query("NOTIFY aduan_events")
            .execute(&mut raw)
            .await
            .unwrap();
        assert!(
            tokio::time::timeout(Duration::from_millis(1500), other_hosts.committed())
                .await
                .is_err(),
            "nothing listens while the database takes no new sessions"
        );
        // Its health says so, since it started, with the server's reason.
        let refused = health();
        let Some(Listening::NotSince(since)) = refused.other_hosts else {
            panic!("not listening: {:?}", refused.other_hosts);
        };
        let error = refused
            .last_listen_error
            .clone()
            .expect("why it does not listen");
        assert!(
            error
                .message
                .contains("not currently accepting connections"),
            "the server's reason: {error:?}"
        );
        assert!(refused.listen_failures >= 1, "{refused:?}");
        sqlx::query(&allow(true)).execute(&mut admin).await.unwrap();
        let what = "once it listens, the projector is woken to look";
        wakes(&mut other_hosts, Duration::from_secs(10), what).await;
        let listeners = listening(&mut raw).await;
        assert_eq!(listeners.len(), 1, "one session listens: {listeners:?}");
        let listens = health();
        match listens.other_hosts {
            Some(Listening::Since(at)) => assert!(at > since, "{at} after {since}"),
            other => panic!("listening: {other:?}"),
        }
        assert!(
            listens
                .last_listen_error
                .as_ref()
                .is_some_and(|e| e.message.contains("not currently accepting connections")),
            "the last failure is still told: {listens:?}"
        );
        let failed = listens.listen_failures;
        a_notification_wakes(&mut raw, &mut other_hosts).await;
        assert_eq!(
            health().listen_failures,
            failed,
            "no failure once it listens"
        );
        drop(other_hosts);
        let bound = Instant::now() + Duration::from_secs(10);
        while health().other_hosts.is_some() {
            assert!(Instant::now() < bound, "no listener once it stopped");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        store.close().await;
    }

    /// The listener's link dropped without a word (nothing reaches either end, nothing
    /// is closed): once it has heard nothing for its quiet time, it asks the server,
    /// gets no answer, gives that session up and listens on a new one, which wakes the
    /// projector; a notification then wakes it too.
    #[tokio::test]
    async fn a_listener_whose_link_went_silent_listens_again() {
        use std::str::FromStr;
        let db = TestDb::new(Backend::Postgres, "listener_silent").await;
        let (relay, through) = crate::testing::Relay::to_postgres(&db.url).await;
        let pace = Pace {
            retry: Duration::from_millis(200),
            quiet: Duration::from_secs(1),
            answer: Duration::from_secs(1),
        };
        let store = db.open().await;
        let mut other_hosts = OtherHosts::listen_with(
            sqlx::postgres::PgConnectOptions::from_str(&through).unwrap(),
            store.log().clone(),
            pace,
        );
        let mut raw = db.raw().await;
        let first = the_listening_session(&mut raw).await;
        wakes(
            &mut other_hosts,
            Duration::from_secs(5),
            "listening wakes the projector",
        )
        .await;
        let Some(Listening::Since(first_since)) = store.health().snapshot().other_hosts else {
            panic!("listening: {:?}", store.health().snapshot());
        };
        // The listener's session goes silent (and the connection it checked the server
        // with first, closed already).
        relay.silence_those_so_far();
        let what = "a session made again after the silence wakes the projector";
        wakes(&mut other_hosts, Duration::from_secs(10), what).await;
        let now = listening(&mut raw).await;
        assert!(
            now.iter().any(|pid| *pid != first),
            "a new session listens: {now:?} (the silent one was {first})"
        );
        a_notification_wakes(&mut raw, &mut other_hosts).await;
        // Health tells the silent session given up, once, and listening since the new one.
        let health = store.health().snapshot();
        assert_eq!(health.listen_failures, 1, "{health:?}");
        let told = health
            .last_listen_error
            .as_ref()
            .expect("the silence is told");
        assert!(told.message.contains("did not answer"), "{told:?}");
        match health.other_hosts {
            Some(Listening::Since(at)) => assert!(at > first_since, "{at} after {first_since}"),
            other => panic!("listening again: {other:?}"),
        }
        drop(other_hosts);
        store.close().await;
    }
}
