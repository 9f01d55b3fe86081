//! What each role may see of a complaint: the complainant's identity is shown or hidden
//! per role and confidentiality level (the rule is the domain's `identity_visible_to`).

use serde_json::{json, Value};
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

/// Replaces the complainant inside any JSON that carries one (a state's registration,
/// a `Received` event's body) when `role` may not see it.
pub fn redact(value: &mut Value, role: Role) {
    match value {
        Value::Object(map) => {
            if let Some(complainant) = map.get_mut("complainant") {
                let level = complainant
                    .get("confidentiality")
                    .cloned()
                    .and_then(|c| serde_json::from_value::<Confidentiality>(c).ok())
                    .unwrap_or_default();
                if !identity_visible_to(role, level) {
                    *complainant = json!({ "hidden": true, "confidentiality": level.as_str() });
                }
            }
            for v in map.values_mut() {
                redact(v, role);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact(v, role)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_identities_are_replaced_wherever_they_appear() {
        let mut v = json!({"events": [{"body": {"type": "Received", "complainant":
            {"name": "Budi", "phone": "0812", "email": null, "confidentiality": "anonymous"}}}]});
        let mut for_upp = v.clone();
        redact(&mut v, Role::Liaison);
        assert_eq!(
            v["events"][0]["body"]["complainant"],
            json!({"hidden": true, "confidentiality": "anonymous"})
        );
        redact(&mut for_upp, Role::Upp);
        assert_eq!(for_upp["events"][0]["body"]["complainant"]["name"], "Budi");
    }
}
