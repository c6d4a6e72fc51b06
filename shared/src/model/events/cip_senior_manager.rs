//! The events of CIP Senior Manager designations (`cip_senior_manager.*`, CIP-003 R3).

use serde::Serialize;

use super::{DateChange, OptionalDateChange, OptionalTextChange};
use crate::ids::{CsmAssignmentId, UserId};
use crate::time::Date;

/// A member was designated CIP Senior Manager from `effectiveDate`, replacing the
/// designation in force then, if any (`replacesAssignmentId`).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CsmDesignated {
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub effective_date: Date,
    pub notes: Option<String>,
    #[schema(value_type = Option<String>)]
    pub replaces_assignment_id: Option<CsmAssignmentId>,
}

/// A designation ended because a new one replaced it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CsmEnded {
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub end_date: Option<Date>,
    #[schema(value_type = String)]
    pub replaced_by_assignment_id: CsmAssignmentId,
}

/// A designation's record was corrected. The corrected designation reports its
/// `effectiveDate` and `notes` (both, changed or not); the designation before it, whose
/// end moved with the correction, reports `endDate` and `becauseOf` (the corrected one).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CsmCorrected {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_date: Option<DateChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<OptionalDateChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub because_of: Option<CsmAssignmentId>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_payloads_are_what_the_untyped_events_stored() {
        let user = UserId::new();
        let first = CsmAssignmentId::new();
        let second = CsmAssignmentId::new();
        let day = Date::parse("d", "2026-01-05").unwrap();
        let next = Date::parse("d", "2026-02-01").unwrap();
        let designated = CsmDesignated {
            user_id: user.clone(),
            effective_date: day,
            notes: None,
            replaces_assignment_id: Some(first.clone()),
        };
        assert_eq!(
            serde_json::to_value(&designated).unwrap(),
            json!({ "userId": user, "effectiveDate": day, "notes": None::<String>, "replacesAssignmentId": first })
        );
        let ended = CsmEnded {
            user_id: user.clone(),
            end_date: Some(day),
            replaced_by_assignment_id: second.clone(),
        };
        assert_eq!(
            serde_json::to_value(&ended).unwrap(),
            json!({ "userId": user, "endDate": day, "replacedByAssignmentId": second })
        );
        let corrected = CsmCorrected {
            effective_date: Some(DateChange { from: day, to: next }),
            notes: Some(OptionalTextChange { from: None, to: None }),
            end_date: None,
            because_of: None,
        };
        assert_eq!(
            serde_json::to_value(&corrected).unwrap(),
            json!({
                "effectiveDate": { "from": day, "to": next },
                "notes": { "from": None::<String>, "to": None::<String> },
            })
        );
        let moved = CsmCorrected {
            effective_date: None,
            notes: None,
            end_date: Some(OptionalDateChange {
                from: Some(next),
                to: Some(day),
            }),
            because_of: Some(second.clone()),
        };
        assert_eq!(
            serde_json::to_value(&moved).unwrap(),
            json!({ "endDate": { "from": next, "to": day }, "becauseOf": second })
        );
    }
}
