//! What the topics share, so that their tests read as stories: given / when / then over
//! the aggregate ([`given`]).

mod given;

pub use given::given;
