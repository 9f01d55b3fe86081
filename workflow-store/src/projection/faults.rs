//! Fault hooks of the projector, for tests that prove a crash inside a batch leaves
//! nothing half-done.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

/// Test hooks that make a batch fail at a chosen point, to prove that a crash there
/// leaves nothing half-done. Reached through `Projector::faults`, with the `testing`
/// feature only.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Faults {
    fail_before_checkpoint: AtomicU64,
    /// The next batch to hold: `Some(None)` whichever projection's it is,
    /// `Some(Some(name))` the next of that projection.
    hold: Mutex<Option<Option<String>>>,
    pub(super) held: Notify,
}

impl Faults {
    /// The next batch stops after applying its events and before advancing the
    /// checkpoint, and waits there for ever with its transaction open: a crash test
    /// kills the process at that point (see [`Faults::held`]).
    pub fn hold_next_batch_before_checkpoint(&self) {
        *self.hold() = Some(None);
    }

    /// Like [`Faults::hold_next_batch_before_checkpoint`], for the next batch of the
    /// projection named `projection` only.
    pub fn hold_next_batch_of(&self, projection: &str) {
        *self.hold() = Some(Some(projection.to_owned()));
    }

    fn hold(&self) -> MutexGuard<'_, Option<Option<String>>> {
        self.hold.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Returns once a batch is held (at once if one already is).
    pub async fn held(&self) {
        self.held.notified().await;
    }

    /// Whether the batch of `projection` under way is the one to hold (the hold is
    /// then used up).
    pub(super) fn take_hold(&self, projection: &str) -> bool {
        let mut hold = self.hold();
        let due = match &*hold {
            Some(None) => true,
            Some(Some(name)) => name == projection,
            None => false,
        };
        if due {
            *hold = None;
        }
        due
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
