//! `aduan serve`: the HTTP API, the projectors and the SLA monitor, until SIGINT or
//! SIGTERM; then in-flight requests finish before the process exits. Connections are
//! served by hyper under the [`Limits`] (`limits`).

mod limits;

pub use limits::Limits;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::evidence::EvidenceStore;
use chrono::Utc;
use tokio::sync::watch;
use workflow_store::Store;

use crate::http::{app, AppState};

/// What `serve` needs, validated.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The evidence folder.
    pub evidence_dir: PathBuf,
    /// The upload size limit in bytes.
    pub evidence_limit: usize,
    /// How often the SLA monitor runs.
    pub sla_interval: Duration,
    /// How often projectors poll when nothing woke them.
    pub poll: Duration,
    /// Serve `/metrics` without a token (for a scraper on a private network).
    pub metrics_public: bool,
    /// Timeouts and caps of connections and requests.
    pub limits: Limits,
    /// The government named on the BA's letterhead.
    pub government: Option<String>,
    /// The key that signs the checkpoints the console hands the auditors (none: the
    /// console offers no checkpoint).
    pub signing_key: Option<PathBuf>,
    /// Notifications: the channels; without one no dispatcher runs.
    pub notify: crate::notify::NotifyConfig,
}

/// Resolves at SIGINT or SIGTERM. The handlers are installed when this is called, not
/// when the future is first polled: a signal that arrives before the accept loop first
/// waits on it still shuts the server down in order, instead of ending the process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {}
                _ = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Serves until a signal, then shuts down in order: stop taking requests, let those in
/// flight finish, stop the background work, close the store.
pub async fn serve(store: Store, config: ServeConfig) -> anyhow::Result<()> {
    let signing_key = config
        .signing_key
        .as_deref()
        .map(workflow_store::audit::load_signing_key)
        .transpose()?;
    let store = Arc::new(store);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", config.listen))?;
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);

    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let projector =
        tokio::spawn(Arc::clone(store.projector()).run(config.poll, stopped(stop_rx.clone())));
    let monitor = {
        let store = Arc::clone(&store);
        let mut rx = stop_rx.clone();
        let interval = config.sla_interval;
        tokio::spawn(async move {
            loop {
                if let Err(e) = store.projector().catch_up().await {
                    tracing::warn!(error = %e, "projection failed; will retry");
                }
                let ticked = store.sla_tick(Utc::now()).await;
                match &ticked {
                    Ok(r) if r.breaches_recorded > 0 || r.closed > 0 => {
                        tracing::info!(
                            breaches = r.breaches_recorded,
                            closed = r.closed,
                            "SLA monitor"
                        );
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "SLA monitor failed; will retry"),
                }
                if let Ok(r) = &ticked {
                    for (complaint, error) in &r.failed {
                        tracing::warn!(%complaint, %error, "the SLA monitor could not sweep a complaint; it tries again at its next round");
                    }
                }
                // Steps due within the at-risk window: their liaison officers are told
                // once per run of a step.
                if let Err(e) = store.enqueue_at_risk(Utc::now()).await {
                    tracing::warn!(error = %e, "at-risk notifications failed; will retry");
                }
                // Yesterday's digest for the coordinators, once.
                if let Err(e) = store.enqueue_digest(Utc::now()).await {
                    tracing::warn!(error = %e, "the coordinators' digest failed; will retry");
                }
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = rx.wait_for(|s| *s) => return,
                }
            }
        })
    };

    let dispatcher = if config.notify.any_channel() {
        let dispatcher = Arc::new(crate::notify::Dispatcher::new(
            Arc::clone(&store),
            config.notify.clone(),
        )?);
        tracing::info!(
            smtp = config.notify.smtp.is_some(),
            webhook = config.notify.webhook.is_some(),
            "notifications are delivered"
        );
        Some(tokio::spawn(dispatcher.run(stopped(stop_rx.clone()))))
    } else {
        tracing::info!("no notification channel is configured; messages wait in the outbox");
        None
    };

    let state = AppState {
        store: Arc::clone(&store),
        evidence: EvidenceStore::new(config.evidence_dir.clone(), config.evidence_limit),
        clock: Arc::new(Utc::now),
        readiness: workflow_store::ReadinessPolicy {
            // A monitor that missed three ticks (and at least a minute) is stalled.
            max_tick_age: Some((config.sla_interval * 3).max(Duration::from_secs(60))),
            ..workflow_store::ReadinessPolicy::default()
        },
        metrics_public: config.metrics_public,
        // The projector spawned above does the work commands wait for.
        read_your_writes: crate::http::READ_YOUR_WRITES,
        government: config.government.clone(),
        audit: crate::web::AuditDesk::new(signing_key),
    };
    let router = config.limits.layer(app(state));
    // The limits' own answers (408, 503) carry the security headers too.
    let router = router
        .layer(axum::middleware::map_response(
            crate::http::headers::security_headers,
        ))
        .layer(axum::middleware::from_fn(crate::http::log_requests))
        // Outermost: the id is known to the log line and to the limits' own answers.
        .layer(axum::middleware::from_fn(
            crate::http::request_id::request_id,
        ));
    // Tests and scripts read this line to find the port.
    eprintln!("aduan: listening on http://{local}");
    let cap = config.limits.connection_cap();
    tracing::info!(%local, backend = ?store.backend(), connections = cap, "serving");
    accept_until_signal(listener, router, &config.limits, cap).await;
    tracing::info!("shutting down: requests finished, stopping background work");
    let _ = stop_tx.send(true);
    let _ = projector.await;
    let _ = monitor.await;
    if let Some(dispatcher) = dispatcher {
        let _ = dispatcher.await;
    }
    store.close().await;
    eprintln!("aduan: stopped");
    Ok(())
}

/// Serves connections until a signal, then lets those open finish their requests.
///
/// At most `cap` connections are served at once; further ones wait in the listen queue
/// until one ends, so the process never runs out of open files. hyper closes a
/// connection whose headers do not arrive within the header read timeout.
async fn accept_until_signal(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: &Limits,
    cap: usize,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;

    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(cap));
    let signal = shutdown_signal();
    tokio::pin!(signal);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot.expect("the semaphore is never closed"),
            _ = &mut signal => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of files or memory for the moment: wait rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut signal => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer's address rides on every request: the public routes limit requests
        // per client address (`http::per_client`).
        let service = hyper_util::service::TowerToHyperService::new(router.clone().map_request(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
