//! The durable log on both backends: what is acknowledged survives a restart, with
//! its metadata and hash chain; views follow the log.

use workflow_store::{both, testing as common};

use workflow_core::complaint::command::ComplaintCommand as C;
use workflow_core::fixtures::*;
use workflow_core::Status;
use workflow_store::chain::{GENESIS, HASH, PREV_HASH};
use workflow_store::metadata_keys;

async fn acknowledged_commands_survive_a_restart(db: common::TestDb) {
    {
        let store = db.open().await;
        let now = wib("2026-11-30 09:00");
        store
            .engine()
            .execute(
                "ADU-1",
                cmd("r1", upp(), now, C::Register(registration())),
                Some("corr-1"),
            )
            .await
            .unwrap();
        store
            .engine()
            .execute(
                "ADU-1",
                cmd("r2", upp(), now, C::Dispose(disposition("PUPR"))),
                None,
            )
            .await
            .unwrap();
        store.close().await;
    }
    let store = db.open().await;
    let events = store.engine().events("ADU-1").await.unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].metadata[metadata_keys::CORRELATION_ID], "corr-1");
    assert_eq!(events[0].metadata[PREV_HASH], GENESIS);
    assert_eq!(events[1].metadata[PREV_HASH], events[0].metadata[HASH]);
    assert_eq!(
        store.engine().load("ADU-1").await.unwrap().status(),
        Status::Disposed
    );

    store.projector().catch_up().await.unwrap();
    let detail = store.views().detail("ADU-1").await.unwrap().unwrap();
    assert_eq!(detail.summary.status, "disposed");
    assert_eq!(detail.summary.agency.as_deref(), Some("PUPR"));
    assert_eq!(detail.state, common::replayed(&store, "ADU-1").await);
    let timeline = store.views().timeline("ADU-1").await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .map(|t| t.event_type.as_str())
            .collect::<Vec<_>>(),
        ["Received", "Disposed"]
    );
    assert!(timeline[0].position < timeline[1].position);
}
both!(restart, acknowledged_commands_survive_a_restart);
