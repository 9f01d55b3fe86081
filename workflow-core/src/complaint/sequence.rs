//! The number of an event within its complaint.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The number of an event within its complaint: 1 for the first, one more for each next.
/// [`Sequence::ZERO`] stands for "before the first event" (an empty complaint, a
/// checkpoint that has seen none of it).
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct Sequence(u64);

impl Sequence {
    /// Before the first event.
    pub const ZERO: Sequence = Sequence(0);

    /// The sequence numbered `n`.
    pub const fn new(n: u64) -> Self {
        Self(n)
    }

    /// Its number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The sequence `n` events later.
    pub const fn after(self, n: u64) -> Self {
        Self(self.0 + n)
    }
}

impl From<u64> for Sequence {
    fn from(n: u64) -> Self {
        Self(n)
    }
}

impl PartialEq<u64> for Sequence {
    fn eq(&self, other: &u64) -> bool {
        self.0 == *other
    }
}

impl fmt::Display for Sequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
