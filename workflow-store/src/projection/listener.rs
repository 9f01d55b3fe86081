//! Wake-ups for the commits of other hosts on one PostgreSQL database: each append
//! sends `NOTIFY aduan_events`, and the projector listens.

use crate::backend::Db;

/// How long the listener waits before it tries again to listen, after its session could
/// not be made or failed other than by ending (the projector's poll still runs).
#[cfg(feature = "postgres")]
const RETRY: std::time::Duration = std::time::Duration::from_secs(1);

/// What wakes the projector when another host commits (PostgreSQL's notifications);
/// never resolves on SQLite, where every writer is in this process.
///
/// The listening is done by a task of its own, on a connection of its own (a pool of
/// one, apart from the store's), which bumps a counter the projector waits on. The
/// projector's wait is dropped whenever something else wakes it first; sqlx's
/// `PgListener` dropped half-way through making its session again hands that
/// connection, listening, back to the pool it came from, and listens no more on the one
/// it makes next. Here nothing drops the listener mid-way but the end of the projector,
/// and its pool is closed with it.
pub(crate) struct OtherHosts {
    woken: Option<tokio::sync::watch::Receiver<u64>>,
}

impl OtherHosts {
    /// Starts listening on `db` (PostgreSQL); on SQLite, there is nothing to listen to.
    /// The task ends once this is dropped.
    pub(crate) fn listen(db: &Db) -> Self {
        #[cfg(feature = "postgres")]
        #[allow(irrefutable_let_patterns)] // in a build without SQLite
        if let crate::backend::TypedPool::Postgres(pool) = &db.typed {
            let (wake, woken) = tokio::sync::watch::channel(0u64);
            let own = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(std::time::Duration::from_secs(30))
                .connect_lazy_with((*pool.connect_options()).clone());
            tokio::spawn(listen_on(own, wake));
            return Self { woken: Some(woken) };
        }
        let _ = db;
        Self { woken: None }
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

/// The listener's task: listens on `aduan_events` through `pool` until every receiver
/// of `wake` is gone, bumping it at each notification and each time its session is made
/// (again); then closes `pool`.
#[cfg(feature = "postgres")]
async fn listen_on(pool: sqlx::postgres::PgPool, wake: tokio::sync::watch::Sender<u64>) {
    let bump = || wake.send_modify(|n| *n = n.wrapping_add(1));
    'session: loop {
        let listening = async {
            let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
            listener.listen("aduan_events").await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = wake.closed() => break 'session,
            made = listening => match made {
                Ok(listener) => listener,
                Err(e) => {
                    tracing::debug!(error = %e, "cannot listen for other hosts' commits yet");
                    tokio::select! {
                        _ = wake.closed() => break 'session,
                        _ = tokio::time::sleep(RETRY) => continue 'session,
                    }
                }
            },
        };
        bump();
        loop {
            tokio::select! {
                _ = wake.closed() => break 'session,
                got = listener.try_recv() => match got {
                    // `None`: the session ended and is made again.
                    Ok(_) => bump(),
                    Err(e) => {
                        tracing::warn!(error = %e, "listening for other hosts' commits failed; listening again");
                        drop(listener);
                        tokio::select! {
                            _ = wake.closed() => break 'session,
                            _ = tokio::time::sleep(RETRY) => continue 'session,
                        }
                    }
                },
            }
        }
    }
    pool.close().await;
}

#[cfg(all(test, feature = "postgres", feature = "testing"))]
mod tests {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use std::time::{Duration, Instant};

    use sqlx::Row;

    use super::OtherHosts;
    use crate::backend::TypedPool;
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
        let mut other_hosts = OtherHosts::listen(store.log().db());
        let mut raw = db.raw().await;
        let deadline = Instant::now() + Duration::from_secs(90);
        let first = Instant::now() + Duration::from_secs(10);
        let mut cut = loop {
            let now = listening(&mut raw).await;
            if now.len() == 1 {
                break now;
            }
            assert!(Instant::now() < first, "the listener listens: {now:?}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        for round in 0..ROUNDS {
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
            cut = loop {
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    GivenUpAfter {
                        future: Box::pin(other_hosts.committed()),
                        left: polls,
                    },
                )
                .await;
                polls += 1;
                // A connection the wait handed back goes back to its pool in a task of
                // sqlx's own: a moment for it to get there, as it would on a busy host.
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
                    break now;
                }
                assert!(
                    Instant::now() < deadline,
                    "round {round}: the listener did not listen again"
                );
            };
        }
        // Each session made again woke it once (what was sent meanwhile went unheard);
        // those wake-ups taken, it stays quiet until a notification comes.
        let mut taken = 0;
        while tokio::time::timeout(Duration::from_millis(300), other_hosts.committed())
            .await
            .is_ok()
        {
            taken += 1;
            assert!(
                taken <= ROUNDS + 1,
                "woken {taken} times without a notification"
            );
        }
        assert!(taken >= 1, "listening again wakes the projector");
        sqlx::query("NOTIFY aduan_events")
            .execute(&mut raw)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), other_hosts.committed())
            .await
            .expect("a notification wakes the projector");
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
        let mut other_hosts = OtherHosts::listen(store.log().db());
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
        sqlx::query(&allow(true)).execute(&mut admin).await.unwrap();
        tokio::time::timeout(Duration::from_secs(10), other_hosts.committed())
            .await
            .expect("once it listens, the projector is woken to look");
        let listeners = listening(&mut raw).await;
        assert_eq!(listeners.len(), 1, "one session listens: {listeners:?}");
        sqlx::query("NOTIFY aduan_events")
            .execute(&mut raw)
            .await
            .unwrap();
        tokio::time::timeout(Duration::from_secs(10), other_hosts.committed())
            .await
            .expect("a notification wakes the projector");
        drop(other_hosts);
        store.close().await;
    }
}
