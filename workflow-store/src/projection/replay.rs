//! Replay: a projection rebuilt from the whole log into its `_rebuild` tables while the
//! live tables keep serving, then switched over in one transaction.

use std::sync::Arc;

use chrono::Utc;

use super::{lock_checkpoint, Projector, ReplayProgress, Target};
use crate::error::StoreError;
use crate::position::Position;
use crate::timestamp;

impl Projector {
    /// Rebuilds one projection from position 0 into its `_rebuild` tables, then switches
    /// over in one transaction; readers see the old views until the switch.
    pub async fn rebuild(
        &self,
        name: &str,
        mut progress: impl FnMut(ReplayProgress) + Send,
    ) -> Result<u64, StoreError> {
        self.db().writable("rebuilding a projection")?;
        let projection = Arc::clone(self.projection(name)?);
        let db = self.db();
        let head = self.log.head().await?;
        {
            let mut tx = db.any.begin_with(db.begin_write()).await?;
            db.unbounded_statements(&mut tx).await?;
            for table in projection.tables() {
                sqlx::query(&format!("DELETE FROM {}", Target::Rebuild.table(table)))
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        let mut position = Position::ZERO;
        let mut applied = 0u64;
        // Replay in batches, each its own transaction, while live projection goes on.
        loop {
            let mut tx = db.any.begin_with(db.begin_write()).await?;
            let events = self
                .log
                .read_after(&mut tx, position, self.batch_size)
                .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                tx.commit().await?;
                break;
            };
            projection
                .apply(&mut tx, Target::Rebuild, &events, &self.services)
                .await?;
            tx.commit().await?;
            position = last;
            applied += events.len() as u64;
            progress(ReplayProgress {
                position,
                head,
                events: applied,
            });
            if position >= head {
                break;
            }
        }
        // Switch over: hold the checkpoint, catch the twins up, copy them into place.
        // Copying a large view may rightly take longer than the statement timeout.
        let mut tx = db.any.begin_with(db.begin_write()).await?;
        db.unbounded_statements(&mut tx).await?;
        lock_checkpoint(db, &mut tx, name).await?;
        loop {
            let events = self
                .log
                .read_after(&mut tx, position, self.batch_size)
                .await?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            projection
                .apply(&mut tx, Target::Rebuild, &events, &self.services)
                .await?;
            position = last;
            applied += events.len() as u64;
        }
        for table in projection.tables() {
            let twin = Target::Rebuild.table(table);
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("INSERT INTO {table} SELECT * FROM {twin}"))
                .execute(&mut *tx)
                .await?;
            sqlx::query(&format!("DELETE FROM {twin}"))
                .execute(&mut *tx)
                .await?;
        }
        // Everything up to here was read: nothing of this projection is parked any more.
        sqlx::query("DELETE FROM projection_parked WHERE projection = $1")
            .bind(name)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE projection_checkpoints SET position = $1, updated_at = $2, last_error = NULL, last_error_at = NULL WHERE name = $3")
            .bind(position)
            .bind(timestamp(Utc::now()))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        progress(ReplayProgress {
            position,
            head: position.max(head),
            events: applied,
        });
        self.applied.notify_waiters();
        Ok(applied)
    }
}
