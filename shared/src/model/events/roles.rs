//! The events of custom roles (`role.*`).

use serde::Serialize;

use super::{OptionalTextChange, PermissionsChange, TextChange};
use crate::permissions::Permission;

/// A custom role was created (`role.created`) or deleted (`role.deleted`): what it was.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleDefinition {
    pub name: String,
    pub permissions: Vec<Permission>,
}

/// A custom role's fields changed; only the changed ones are present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleUpdated {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<PermissionsChange>,
}

impl RoleUpdated {
    pub fn is_empty(&self) -> bool {
        *self == RoleUpdated::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payloads_are_what_the_untyped_events_stored() {
        let definition = RoleDefinition {
            name: "Trainer".into(),
            permissions: vec![Permission::TrainingWrite],
        };
        assert_eq!(
            serde_json::to_value(&definition).unwrap(),
            json!({ "name": "Trainer", "permissions": [Permission::TrainingWrite] })
        );
        let updated = RoleUpdated {
            name: TextChange::of(&"Trainer".to_string(), &"Lead trainer".to_string()),
            description: OptionalTextChange::of(&None, &Some("Runs CIP-004 training".to_string())),
            permissions: None,
        };
        assert_eq!(
            serde_json::to_value(&updated).unwrap(),
            json!({
                "name": { "from": "Trainer", "to": "Lead trainer" },
                "description": { "from": null, "to": "Runs CIP-004 training" },
            })
        );
    }
}
