//! The events of training modules (`training_module.*`).

use serde::Serialize;

use super::{FlagChange, OptionalDaysChange, OptionalTextChange, TextChange};
use crate::ids::TrainingModuleId;
use crate::model::training_modules::TrainingModule;
use crate::time::Timestamp;

/// A module was created: the whole module as the API showed it then.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingModuleCreated {
    #[schema(value_type = String)]
    pub id: TrainingModuleId,
    pub title: String,
    pub description: Option<String>,
    pub cip_standard: Option<String>,
    pub completion_interval_days: Option<u32>,
    pub external_module_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xapi_activity_id: Option<String>,
    pub renewal_enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<Timestamp>,
}

impl TrainingModuleCreated {
    pub fn of(module: &TrainingModule) -> Self {
        TrainingModuleCreated {
            id: module.id.clone(),
            title: module.title.clone(),
            description: module.description.clone(),
            cip_standard: module.cip_standard.clone(),
            completion_interval_days: module.completion_interval_days,
            external_module_url: module.external_module_url.clone(),
            xapi_activity_id: module.xapi_activity_id.clone(),
            renewal_enabled: module.renewal_enabled,
            created_at: module.created_at,
            updated_at: module.updated_at,
            retired_at: module.retired_at,
        }
    }
}

/// A module's fields changed: `changes` holds only the changed ones.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingModuleUpdated {
    pub changes: TrainingModuleChanges,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingModuleChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cip_standard: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_interval_days: Option<OptionalDaysChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_module_url: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xapi_activity_id: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_enabled: Option<FlagChange>,
}

impl TrainingModuleChanges {
    pub fn between(before: &TrainingModule, after: &TrainingModule) -> Self {
        TrainingModuleChanges {
            title: TextChange::of(&before.title, &after.title),
            description: OptionalTextChange::of(&before.description, &after.description),
            cip_standard: OptionalTextChange::of(&before.cip_standard, &after.cip_standard),
            completion_interval_days: OptionalDaysChange::of(
                &before.completion_interval_days,
                &after.completion_interval_days,
            ),
            external_module_url: OptionalTextChange::of(&before.external_module_url, &after.external_module_url),
            xapi_activity_id: OptionalTextChange::of(&before.xapi_activity_id, &after.xapi_activity_id),
            renewal_enabled: FlagChange::of(&before.renewal_enabled, &after.renewal_enabled),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == TrainingModuleChanges::default()
    }
}

/// A module was retired.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingModuleRetired {
    pub title: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payloads_are_what_the_untyped_events_stored() {
        let updated = TrainingModuleUpdated {
            changes: TrainingModuleChanges {
                completion_interval_days: Some(OptionalDaysChange {
                    from: Some(365),
                    to: None,
                }),
                renewal_enabled: Some(FlagChange { from: true, to: false }),
                ..TrainingModuleChanges::default()
            },
        };
        assert_eq!(
            serde_json::to_value(&updated).unwrap(),
            json!({ "changes": {
                "completionIntervalDays": { "from": 365, "to": null },
                "renewalEnabled": { "from": true, "to": false },
            } })
        );
        let retired = TrainingModuleRetired {
            title: "CIP-004 annual".into(),
        };
        assert_eq!(
            serde_json::to_value(&retired).unwrap(),
            json!({ "title": "CIP-004 annual" })
        );
    }
}
