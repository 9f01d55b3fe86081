//! `aduan serve`: the HTTP API, the projectors and the SLA monitor, until SIGINT or
//! SIGTERM; then in-flight requests finish before the process exits.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::watch;
use workflow_store::evidence::EvidenceStore;
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
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
}

/// Serves until a signal, then shuts down in order: stop taking requests, let those in
/// flight finish, stop the background work, close the store.
pub async fn serve(store: Store, config: ServeConfig) -> anyhow::Result<()> {
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
                match store.sla_tick(Utc::now()).await {
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
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = rx.wait_for(|s| *s) => return,
                }
            }
        })
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
    };
    let router = app(state).layer(axum::middleware::from_fn(crate::http::log_requests));
    // Tests and scripts read this line to find the port.
    eprintln!("aduan: listening on http://{local}");
    tracing::info!(%local, backend = ?store.backend(), "serving");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("shutting down: requests finished, stopping background work");
    let _ = stop_tx.send(true);
    let _ = projector.await;
    let _ = monitor.await;
    store.close().await;
    eprintln!("aduan: stopped");
    Ok(())
}
