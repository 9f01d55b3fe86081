//! An event's place in the whole log.

use std::fmt;

use serde::{Deserialize, Serialize};
use sqlx::any::{Any, AnyTypeInfo, AnyValueRef};
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Decode, Encode, Type};

/// An event's place in the whole log, across complaints: commit order, gaps possible,
/// never reordered. Projections and checkpoints count in it; [`Position::ZERO`] is
/// before the first event (a projection that has applied nothing yet).
///
/// It is bound to and read from queries as the database's 64-bit integer.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Position(i64);

impl Position {
    /// Before the first event.
    pub const ZERO: Position = Position(0);

    /// The position numbered `n`.
    pub const fn new(n: i64) -> Self {
        Self(n)
    }

    /// Its number.
    pub const fn get(self) -> i64 {
        self.0
    }

    /// How many positions `self` is past `earlier` (0 if it is not).
    pub fn since(self, earlier: Position) -> u64 {
        u64::try_from(self.0 - earlier.0).unwrap_or(0)
    }
}

impl From<i64> for Position {
    fn from(n: i64) -> Self {
        Self(n)
    }
}

impl PartialEq<i64> for Position {
    fn eq(&self, other: &i64) -> bool {
        self.0 == *other
    }
}

impl PartialOrd<i64> for Position {
    fn partial_cmp(&self, other: &i64) -> Option<std::cmp::Ordering> {
        self.0.partial_cmp(other)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Type<Any> for Position {
    fn type_info() -> AnyTypeInfo {
        <i64 as Type<Any>>::type_info()
    }

    fn compatible(ty: &AnyTypeInfo) -> bool {
        <i64 as Type<Any>>::compatible(ty)
    }
}

impl<'q> Encode<'q, Any> for Position {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<IsNull, BoxDynError> {
        <i64 as Encode<'q, Any>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r> Decode<'r, Any> for Position {
    fn decode(value: AnyValueRef<'r>) -> Result<Self, BoxDynError> {
        <i64 as Decode<'r, Any>>::decode(value).map(Position)
    }
}
