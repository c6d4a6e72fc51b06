//! The events of facilities (`facility.*`).

use serde::Serialize;

use super::{OptionalImpactRatingChange, OptionalTextChange, TextChange};
use crate::model::facilities::{Facility, ImpactRating};

/// A facility was created.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilityCreated {
    pub name: String,
    pub impact_rating: Option<ImpactRating>,
    pub external_id: Option<String>,
}

impl FacilityCreated {
    pub fn of(facility: &Facility) -> Self {
        FacilityCreated {
            name: facility.name.clone(),
            impact_rating: facility.impact_rating,
            external_id: facility.external_id.clone(),
        }
    }
}

/// A facility's fields changed: `changes` holds only the changed ones.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilityUpdated {
    pub changes: FacilityChanges,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilityChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact_rating: Option<OptionalImpactRatingChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<OptionalTextChange>,
}

impl FacilityChanges {
    pub fn between(before: &Facility, after: &Facility) -> Self {
        FacilityChanges {
            name: TextChange::of(&before.name, &after.name),
            impact_rating: OptionalImpactRatingChange::of(&before.impact_rating, &after.impact_rating),
            external_id: OptionalTextChange::of(&before.external_id, &after.external_id),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == FacilityChanges::default()
    }
}

/// A facility was (soft) deleted.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilityDeleted {
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payloads_are_what_the_untyped_events_stored() {
        let created = FacilityCreated {
            name: "Substation 4".into(),
            impact_rating: Some(ImpactRating::High),
            external_id: None,
        };
        assert_eq!(
            serde_json::to_value(&created).unwrap(),
            json!({ "name": "Substation 4", "impactRating": "high", "externalId": null })
        );
        let updated = FacilityUpdated {
            changes: FacilityChanges {
                name: None,
                impact_rating: Some(OptionalImpactRatingChange {
                    from: Some(ImpactRating::High),
                    to: None,
                }),
                external_id: Some(OptionalTextChange {
                    from: None,
                    to: Some("S-4".into()),
                }),
            },
        };
        assert_eq!(
            serde_json::to_value(&updated).unwrap(),
            json!({ "changes": {
                "impactRating": { "from": "high", "to": null },
                "externalId": { "from": null, "to": "S-4" },
            } })
        );
        let deleted = FacilityDeleted {
            name: "Substation 4".into(),
        };
        assert_eq!(
            serde_json::to_value(&deleted).unwrap(),
            json!({ "name": "Substation 4" })
        );
    }
}
