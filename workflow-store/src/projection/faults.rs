//! Fault hooks of the projector, for tests that prove a crash inside a batch leaves
//! nothing half-done.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// Test hooks that make a batch fail at a chosen point, to prove that a crash there
/// leaves nothing half-done. Reached through `Projector::faults`, with the `testing`
/// feature only.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Faults {
    fail_before_checkpoint: AtomicU64,
    hold_before_checkpoint: AtomicU64,
    /// A projection whose next batch is held, whichever batch of another comes first.
    hold_of: std::sync::Mutex<Option<String>>,
    pub(super) held: Notify,
}

impl Faults {
    /// The next batch stops after applying its events and before advancing the
    /// checkpoint, and waits there for ever with its transaction open: a crash test
    /// kills the process at that point (see [`Faults::held`]).
    pub fn hold_next_batch_before_checkpoint(&self) {
        self.hold_before_checkpoint.store(1, Ordering::SeqCst);
    }

    /// Like [`Faults::hold_next_batch_before_checkpoint`], for the next batch of the
    /// projection named `projection` only.
    pub fn hold_next_batch_of(&self, projection: &str) {
        *self.hold_of.lock().unwrap_or_else(|e| e.into_inner()) = Some(projection.to_owned());
    }

    /// Returns once a batch is held (at once if one already is).
    pub async fn held(&self) {
        self.held.notified().await;
    }

    pub(super) fn take_hold(&self, projection: &str) -> bool {
        if self
            .hold_before_checkpoint
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return true;
        }
        let mut named = self.hold_of.lock().unwrap_or_else(|e| e.into_inner());
        if named.as_deref() == Some(projection) {
            *named = None;
            return true;
        }
        false
    }

    /// The next `n` batches fail after applying their events and before advancing the
    /// checkpoint, as if the process died there.
    pub fn fail_next_batches_before_checkpoint(&self, n: u64) {
        self.fail_before_checkpoint.store(n, Ordering::SeqCst);
    }

    pub(super) fn take_before_checkpoint(&self) -> bool {
        self.fail_before_checkpoint
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}
