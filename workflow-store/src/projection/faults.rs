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
    pub(super) held: Notify,
}

impl Faults {
    /// The next batch stops after applying its events and before advancing the
    /// checkpoint, and waits there for ever with its transaction open: a crash test
    /// kills the process at that point (see [`Faults::held`]).
    pub fn hold_next_batch_before_checkpoint(&self) {
        self.hold_before_checkpoint.store(1, Ordering::SeqCst);
    }

    /// Returns once a batch is held (at once if one already is).
    pub async fn held(&self) {
        self.held.notified().await;
    }

    pub(super) fn take_hold(&self) -> bool {
        self.hold_before_checkpoint
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
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
