//! `aduan outbox`: the notifications waiting, sent, skipped or dead, and bringing dead
//! ones back ([`workflow_store::outbox`]).

use chrono::Utc;
use serde_json::json;
use workflow_store::Store;

use crate::cli::OutboxAction;
use crate::table::Table;

/// Runs an outbox verb.
pub async fn run(store: &Store, action: OutboxAction, json: bool) -> anyhow::Result<()> {
    match action {
        OutboxAction::List { state, limit } => {
            let messages = store.outbox(state, limit).await?;
            if json {
                for m in &messages {
                    crate::outln!("{}", serde_json::to_string(m)?);
                }
                return Ok(());
            }
            let mut table = Table::new(&["key", "state", "attempts", "next attempt", "error"]);
            for m in &messages {
                table.row(vec![
                    m.key.clone(),
                    m.state.as_str().to_owned(),
                    m.attempts.to_string(),
                    workflow_store::timestamp(m.next_attempt_at),
                    m.last_error.clone().unwrap_or_default(),
                ]);
            }
            crate::outln!("{}", table.render());
            Ok(())
        }
        OutboxAction::Retry { key, all_dead } => {
            let now = Utc::now();
            if all_dead {
                let n = store.retry_dead_outbox(now).await?;
                if json {
                    crate::outln!("{}", json!({ "retried": n }));
                } else {
                    eprintln!("{n} dead messages are pending again");
                }
                return Ok(());
            }
            let key = key.expect("clap requires a key without --all-dead");
            if !store.retry_outbox(&key, now).await? {
                anyhow::bail!("no dead or skipped message has the key {key}");
            }
            if json {
                crate::outln!("{}", json!({ "retried": 1, "key": key }));
            } else {
                eprintln!("{key} is pending again");
            }
            Ok(())
        }
    }
}
