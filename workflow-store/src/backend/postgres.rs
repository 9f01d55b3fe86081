//! Opening a PostgreSQL database: the session settings every connection gets (statement
//! and lock timeouts, read-only transactions for a reading verb) and the pools.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Executor};

use super::{bad_url, keep_only_clean, ping_if_idle, redact, BackendKind, Db, Purpose, TypedPool};
use crate::error::StoreError;
use crate::options::StoreOptions;

/// The statement that gives a PostgreSQL session the engine's settings.
fn session_sql(settings: &StoreOptions, read_only: bool) -> String {
    let ms = |d: Duration| d.as_millis().to_string();
    format!(
        "SELECT set_config('lock_timeout', '{}', false), set_config('statement_timeout', '{}', false), \
         set_config('idle_in_transaction_session_timeout', '{}', false){}",
        ms(settings.get_lock_timeout()),
        ms(settings.get_statement_timeout()),
        ms(settings.get_idle_in_transaction_timeout()),
        if read_only {
            ", set_config('default_transaction_read_only', 'on', false)"
        } else {
            ""
        }
    )
}

impl Db {
    pub(super) async fn connect_postgres(
        url: &str,
        purpose: Purpose,
        settings: &StoreOptions,
    ) -> Result<Db, StoreError> {
        let bad = |reason: &str| bad_url(url, reason);
        let options = PgConnectOptions::from_str(url).map_err(|e| bad(&e.to_string()))?;
        // One direct attempt first: a server that is down or a database that does
        // not exist is reported at once instead of after the pool's retries.
        options.connect().await?.close().await?;
        // Every session carries the timeouts, set as it connects.
        let session = session_sql(settings, purpose == Purpose::Read);
        let typed_session = session.clone();
        let typed = PgPoolOptions::new()
            .max_connections(16)
            .test_before_acquire(false)
            .before_acquire(ping_if_idle::<sqlx::Postgres>())
            .after_release(keep_only_clean::<sqlx::Postgres>())
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                let sql = typed_session.clone();
                Box::pin(async move {
                    conn.execute(sql.as_str()).await?;
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let any_session = session.clone();
        let any = AnyPoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .before_acquire(ping_if_idle::<sqlx::Any>())
            .after_release(keep_only_clean::<sqlx::Any>())
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                let sql = any_session.clone();
                Box::pin(async move {
                    conn.execute(sql.as_str()).await?;
                    Ok(())
                })
            })
            .connect(url)
            .await?;
        Ok(Db {
            kind: BackendKind::Postgres,
            name: redact(url),
            read_only: purpose == Purpose::Read,
            session: Some(session),
            any,
            typed: TypedPool::Postgres(typed),
            projecting: None,
            writer: None,
            direct: None,
        })
    }
}
