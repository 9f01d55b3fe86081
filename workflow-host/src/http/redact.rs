//! Which reads of a complaint show an identity the complainant hid: those are recorded.
//! (What each reader is shown is decided where the answer is made, in
//! [`crate::read_model::ComplainantView`].)

use workflow_core::complainant::{identity_visible_to, Confidentiality};
use workflow_core::{Complaint, Role};

/// Whether showing this complaint to `role` shows an identity the complainant hid: such
/// reads are recorded.
pub fn reveals_hidden_identity(role: Role, state: &Complaint) -> bool {
    state.registration().is_some_and(|r| {
        let level = r.complainant.confidentiality;
        level != Confidentiality::Public && identity_visible_to(role, level)
    })
}
