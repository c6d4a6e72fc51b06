//! Facilities: the sites (substations, control centres) whose BES Cyber Systems a person
//! may access. Training assignments are scoped to them (CIP-004 R2: training for the
//! systems a person can reach), so a facility in an open assignment's scope stays.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId};
use crate::time::Timestamp;
use crate::validation;

pub const MAX_FACILITY_NAME_LENGTH: usize = 200;

/// The BES Cyber System impact rating of the facility's systems (CIP-002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ImpactRating {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FacilityStatus {
    Active,
    /// Soft-deleted: gone from lists and from new scopes; closed assignments still name it.
    Deleted,
}

/// A facility as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Facility {
    pub id: FacilityId,
    pub organization_id: OrgId,
    pub name: String,
    pub impact_rating: Option<ImpactRating>,
    /// The site's id in the customer's asset inventory.
    pub external_id: Option<String>,
    pub status: FacilityStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    pub version: u64,
}

/// A new facility's values, parsed (`rest::facilities::CreateFacility::parse`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewFacility {
    pub name: String,
    pub impact_rating: Option<ImpactRating>,
    pub external_id: Option<String>,
}

/// The fields a facility update changes (absent: unchanged; `Some(None)`: cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FacilityEdit {
    pub name: Option<String>,
    pub impact_rating: Option<Option<ImpactRating>>,
    pub external_id: Option<Option<String>>,
}

pub fn facility_name(name: &str) -> ApiResult<String> {
    validation::one_line_text("name", name, MAX_FACILITY_NAME_LENGTH)
}

pub fn external_id(value: Option<&str>) -> ApiResult<Option<String>> {
    validation::optional_one_line_text("externalId", value, MAX_FACILITY_NAME_LENGTH)
}

/// The key that makes a name unique in the organization, ignoring case.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

pub fn new_facility(org: &OrgId, input: NewFacility, now: Timestamp) -> Facility {
    Facility {
        id: FacilityId::new(),
        organization_id: org.clone(),
        name: input.name,
        impact_rating: input.impact_rating,
        external_id: input.external_id,
        status: FacilityStatus::Active,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    }
}

/// A deleted facility can be read (closed assignments name it) but not changed.
pub fn require_active(facility: &Facility) -> ApiResult<()> {
    match facility.status {
        FacilityStatus::Active => Ok(()),
        FacilityStatus::Deleted => Err(ApiError::conflict("this facility is deleted")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_required_and_unique_ignoring_case() {
        let now = Timestamp::parse("t", "2025-03-15T08:00:00Z").unwrap();
        let facility = new_facility(
            &OrgId::new(),
            NewFacility {
                name: facility_name("  Substation Alpha ").unwrap(),
                impact_rating: Some(ImpactRating::High),
                external_id: None,
            },
            now,
        );
        assert_eq!(facility.name, "Substation Alpha");
        assert_eq!(name_key("Substation ALPHA"), name_key(&facility.name));
        assert!(facility_name("   ").is_err());
        assert!(facility_name(&"x".repeat(MAX_FACILITY_NAME_LENGTH + 1)).is_err());
    }

    #[test]
    fn impact_ratings_are_the_three_of_cip_002() {
        for (text, rating) in [
            ("\"high\"", ImpactRating::High),
            ("\"medium\"", ImpactRating::Medium),
            ("\"low\"", ImpactRating::Low),
        ] {
            assert_eq!(serde_json::from_str::<ImpactRating>(text).unwrap(), rating);
        }
        assert!(serde_json::from_str::<ImpactRating>("\"critical\"").is_err());
    }

    proptest::proptest! {
        /// Whatever name is accepted is stored trimmed, and accepting it again changes nothing.
        #[test]
        fn an_accepted_name_is_a_fixed_point(name in "\\PC{0,220}") {
            if let Ok(accepted) = facility_name(&name) {
                proptest::prop_assert_eq!(facility_name(&accepted).unwrap(), accepted.clone());
                proptest::prop_assert_eq!(name_key(&accepted), name_key(&accepted.to_lowercase()));
            }
        }
    }
}
