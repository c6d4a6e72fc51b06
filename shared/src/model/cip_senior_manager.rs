//! The CIP Senior Manager (CIP-003 R3): the one named individual accountable for the
//! organization's CIP program. Designations form a dated, contiguous history that answers
//! "who was it on date D", with who recorded each change and when. Nothing is ever deleted;
//! a new designation ends the previous one the day before it takes effect.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{CsmAssignmentId, OrgId, UserId};
use crate::model::principal::Principal;
use crate::model::users::Member;
use crate::time::{Date, Timestamp};

pub const MAX_NOTES_LENGTH: usize = 2000;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CsmAssignment {
    pub id: CsmAssignmentId,
    pub organization_id: OrgId,
    pub user_id: UserId,
    pub effective_date: Date,
    /// The day before the next designation took effect; `None` while current.
    pub end_date: Option<Date>,
    pub notes: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
    pub updated_by: UserId,
    pub updated_at: Timestamp,
    pub version: u64,
}

impl CsmAssignment {
    /// Whether this designation was in force on `date`.
    pub fn in_force_on(&self, date: Date) -> bool {
        self.effective_date <= date && self.end_date.is_none_or(|end| date <= end)
    }
}

/// A designation with its designee's member record (kept even after deletion, so the
/// name is there), as the commands that name who holds the role answer it.
#[derive(Debug, Clone)]
pub struct Designation {
    pub assignment: CsmAssignment,
    pub designee: Option<Member>,
}

/// A new designation's values, parsed (`rest::cip_senior_manager::Designate::parse`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewDesignation {
    pub user_id: UserId,
    pub effective_date: Date,
    pub notes: Option<String>,
}

/// What a correction changes (absent: unchanged; `Some(None)`: notes cleared).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DesignationCorrection {
    pub effective_date: Option<Date>,
    pub notes: Option<Option<String>>,
}

/// A designation is recorded once it takes effect (CIP-003 R3 asks for changes to be
/// documented within 30 days of them), never ahead of time, so the latest designation is
/// always the current one.
pub fn effective_date_not_in_future(date: Date, today: Date) -> ApiResult<()> {
    if date > today {
        return Err(ApiError::validation(
            "effectiveDate",
            "`effectiveDate` must not be in the future: record a designation once it takes effect",
        ));
    }
    Ok(())
}

/// The current designation, ended the day before `designated` takes effect.
pub fn end_previous(
    previous: &CsmAssignment,
    designated: &CsmAssignment,
    principal: &Principal,
    now: Timestamp,
) -> ApiResult<CsmAssignment> {
    if previous.user_id == designated.user_id {
        return Err(ApiError::conflict(format!(
            "user `{}` is already the current CIP Senior Manager",
            designated.user_id
        )));
    }
    if designated.effective_date <= previous.effective_date {
        return Err(ApiError::conflict(format!(
            "`effectiveDate` must be after {}, when the current designation took effect",
            previous.effective_date
        )));
    }
    let mut ended = previous.clone();
    ended.end_date = designated.effective_date.previous_day();
    ended.updated_by = principal.user().clone();
    ended.updated_at = now;
    ended.version += 1;
    Ok(ended)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(effective: &str, end: Option<&str>) -> CsmAssignment {
        let user = UserId::new();
        CsmAssignment {
            id: CsmAssignmentId::new(),
            organization_id: OrgId::new(),
            user_id: user.clone(),
            effective_date: Date::parse("d", effective).unwrap(),
            end_date: end.map(|end| Date::parse("d", end).unwrap()),
            notes: None,
            recorded_by: user.clone(),
            recorded_at: Timestamp::now(),
            updated_by: user,
            updated_at: Timestamp::now(),
            version: 1,
        }
    }

    #[test]
    fn a_designation_is_in_force_from_its_effective_date_through_its_end_date() {
        let ended = assignment("2025-01-10", Some("2025-03-31"));
        let on = |text| ended.in_force_on(Date::parse("d", text).unwrap());
        assert!(!on("2025-01-09"));
        assert!(on("2025-01-10"));
        assert!(on("2025-03-31"));
        assert!(!on("2025-04-01"));
        let current = assignment("2025-04-01", None);
        assert!(current.in_force_on(Date::parse("d", "2099-01-01").unwrap()));
    }
}
