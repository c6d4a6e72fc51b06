//! The CIP Senior Manager (CIP-003 R3): the one named individual accountable for the
//! organization's CIP program. Designations form a dated, contiguous history that answers
//! "who was it on date D", with who recorded each change and when. Nothing is ever deleted;
//! a new designation ends the previous one the day before it takes effect.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::http::double_option;
use crate::ids::{CsmAssignmentId, OrgId, UserId};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::time::{Date, Timestamp};
use crate::users::{self, MemberStatus};
use crate::validation;

const MAX_NOTES_LENGTH: usize = 2000;

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

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CsmAssignmentView {
    pub id: CsmAssignmentId,
    pub user_id: UserId,
    /// The designee's name and email, on answers about who holds (or held) the role.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_email: Option<String>,
    pub status: &'static str,
    pub effective_date: Date,
    pub end_date: Option<Date>,
    pub notes: Option<String>,
    pub recorded_by: UserId,
    pub recorded_at: Timestamp,
    pub updated_by: UserId,
    pub updated_at: Timestamp,
}

impl CsmAssignmentView {
    pub fn of(assignment: &CsmAssignment) -> Self {
        CsmAssignmentView {
            id: assignment.id.clone(),
            user_id: assignment.user_id.clone(),
            user_display_name: None,
            user_email: None,
            status: if assignment.end_date.is_none() {
                "current"
            } else {
                "ended"
            },
            effective_date: assignment.effective_date,
            end_date: assignment.end_date,
            notes: assignment.notes.clone(),
            recorded_by: assignment.recorded_by.clone(),
            recorded_at: assignment.recorded_at,
            updated_by: assignment.updated_by.clone(),
            updated_at: assignment.updated_at,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Designate {
    pub user_id: UserId,
    pub effective_date: Date,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Correct {
    pub effective_date: Option<Date>,
    #[serde(default, deserialize_with = "double_option")]
    pub notes: Option<Option<String>>,
    /// Accepted only to explain why it cannot change.
    pub user_id: Option<serde_json::Value>,
}

/// A designation is recorded once it takes effect (CIP-003 R3 asks for changes to be
/// documented within 30 days of them), never ahead of time, so the latest designation is
/// always the current one.
fn effective_date_not_in_future(date: Date) -> ApiResult<()> {
    if date > Date::today() {
        return Err(ApiError::validation(
            "effectiveDate",
            "`effectiveDate` must not be in the future: record a designation once it takes effect",
        ));
    }
    Ok(())
}

/// Who was designated on `as_of` (today by default), with their name and email.
pub async fn current(store: &Store, caller: &Caller, as_of: Option<Date>) -> ApiResult<CsmAssignmentView> {
    caller.require(Permission::CipRead)?;
    let history = store::cip_senior_manager::history(store, caller.org()).await?;
    let found = match as_of {
        Some(date) => history.iter().rev().find(|assignment| assignment.in_force_on(date)),
        None => history.last().filter(|assignment| assignment.end_date.is_none()),
    };
    let Some(assignment) = found else {
        return Err(ApiError::NotFound {
            resource: match as_of {
                Some(_) => "CIP Senior Manager designation in force on that date",
                None => "current CIP Senior Manager designation (none is designated yet)",
            },
        });
    };
    let mut view = CsmAssignmentView::of(assignment);
    // The designee's record is kept even after deletion, so the name is always there.
    if let Some(member) = store::members::get(store, caller.org(), &assignment.user_id).await? {
        view.user_display_name = Some(member.display_name);
        view.user_email = Some(member.email);
    }
    Ok(view)
}

pub async fn get_assignment(store: &Store, caller: &Caller, id: &CsmAssignmentId) -> ApiResult<CsmAssignmentView> {
    caller.require(Permission::CipRead)?;
    store::cip_senior_manager::get(store, caller.org(), id)
        .await?
        .map(|assignment| CsmAssignmentView::of(&assignment))
        .ok_or(ApiError::NotFound {
            resource: "CIP Senior Manager assignment",
        })
}

pub async fn list_assignments(
    store: &Store,
    caller: &Caller,
    page: &PageRequest,
) -> ApiResult<ListPage<CsmAssignmentView>> {
    caller.require(Permission::CipRead)?;
    let result = store::cip_senior_manager::list(store, caller.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items.iter().map(CsmAssignmentView::of).collect(),
        next_cursor: page.next_cursor(result.next),
    })
}

/// Designates a CIP Senior Manager, ending the current designation the day before.
pub async fn designate(store: &Store, caller: &Caller, input: Designate) -> ApiResult<CsmAssignmentView> {
    caller.require(Permission::CipWrite)?;
    let notes = validation::optional_text("notes", input.notes.as_deref(), MAX_NOTES_LENGTH)?;
    effective_date_not_in_future(input.effective_date)?;
    let member = users::get_member(store, caller.org(), &input.user_id).await?;
    if member.status != MemberStatus::Active {
        return Err(ApiError::conflict(format!(
            "user `{}` is {}; only an active member can be designated",
            member.user_id,
            member.status.as_str()
        )));
    }

    let history = store::cip_senior_manager::history(store, caller.org()).await?;
    let previous = history.last().filter(|assignment| assignment.end_date.is_none());
    let now = Timestamp::now();
    let designated = CsmAssignment {
        id: CsmAssignmentId::new(),
        organization_id: caller.org().clone(),
        user_id: member.user_id.clone(),
        effective_date: input.effective_date,
        end_date: None,
        notes,
        recorded_by: caller.user().clone(),
        recorded_at: now,
        updated_by: caller.user().clone(),
        updated_at: now,
        version: 1,
    };
    let ended = match previous {
        Some(previous) => Some(end_previous(previous, &designated, caller, now)?),
        None => None,
    };

    let mut transaction = Transaction::new();
    store::cip_senior_manager::put_designation(&mut transaction, &designated, previous.zip(ended.as_ref()))?;
    store::cip_senior_manager::check_member_active(&mut transaction, caller.org(), &designated.user_id)?;
    audit::record(
        &mut transaction,
        &caller.actor,
        "cip_senior_manager.designated",
        "cip_senior_manager_assignment",
        designated.id.as_str(),
        json!({
            "userId": designated.user_id,
            "effectiveDate": designated.effective_date,
            "notes": designated.notes,
            "replacesAssignmentId": previous.map(|p| p.id.clone()),
        }),
    )?;
    if let Some(ended) = &ended {
        audit::record(
            &mut transaction,
            &caller.actor,
            "cip_senior_manager.ended",
            "cip_senior_manager_assignment",
            ended.id.as_str(),
            json!({ "userId": ended.user_id, "endDate": ended.end_date, "replacedByAssignmentId": designated.id }),
        )?;
    }
    transaction.commit(store).await?;
    let mut view = CsmAssignmentView::of(&designated);
    view.user_display_name = Some(member.display_name);
    view.user_email = Some(member.email);
    Ok(view)
}

fn end_previous(
    previous: &CsmAssignment,
    designated: &CsmAssignment,
    caller: &Caller,
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
    ended.updated_by = caller.user().clone();
    ended.updated_at = now;
    ended.version += 1;
    Ok(ended)
}

/// Corrects an assignment's effective date or notes. The history stays contiguous and
/// never overlaps: the effective date stays strictly between the neighbours' ones, and the
/// previous designation's end date follows it.
pub async fn correct(
    store: &Store,
    caller: &Caller,
    id: &CsmAssignmentId,
    input: Correct,
) -> ApiResult<CsmAssignmentView> {
    caller.require(Permission::CipWrite)?;
    if input.user_id.is_some() {
        return Err(ApiError::validation(
            "userId",
            "the designated user cannot be changed; designate the new CIP Senior Manager with POST /cip-senior-manager-assignments",
        ));
    }
    let history = store::cip_senior_manager::history(store, caller.org()).await?;
    let position = history
        .iter()
        .position(|assignment| &assignment.id == id)
        .ok_or(ApiError::NotFound {
            resource: "CIP Senior Manager assignment",
        })?;
    let before = &history[position];
    let earlier = position.checked_sub(1).map(|index| &history[index]);
    let later = history.get(position + 1);

    let now = Timestamp::now();
    let mut after = before.clone();
    if let Some(notes) = input.notes {
        after.notes = validation::optional_text("notes", notes.as_deref(), MAX_NOTES_LENGTH)?;
    }
    let mut earlier_after = None;
    if let Some(date) = input.effective_date.filter(|date| *date != before.effective_date) {
        effective_date_not_in_future(date)?;
        if let Some(earlier) = earlier.filter(|earlier| date <= earlier.effective_date) {
            return Err(ApiError::conflict(format!(
                "`effectiveDate` must be after {}, when the previous designation took effect",
                earlier.effective_date
            )));
        }
        if let Some(later) = later.filter(|later| date >= later.effective_date) {
            return Err(ApiError::conflict(format!(
                "`effectiveDate` must be before {}, when the next designation took effect",
                later.effective_date
            )));
        }
        after.effective_date = date;
        if let Some(earlier) = earlier {
            let mut moved = earlier.clone();
            moved.end_date = date.previous_day();
            moved.updated_by = caller.user().clone();
            moved.updated_at = now;
            moved.version += 1;
            earlier_after = Some(moved);
        }
    }
    if after == *before {
        return Ok(CsmAssignmentView::of(before));
    }
    after.updated_by = caller.user().clone();
    after.updated_at = now;
    after.version += 1;

    let mut transaction = Transaction::new();
    store::cip_senior_manager::put_corrected(&mut transaction, before, &after)?;
    audit::record(
        &mut transaction,
        &caller.actor,
        "cip_senior_manager.corrected",
        "cip_senior_manager_assignment",
        id.as_str(),
        json!({
            "effectiveDate": { "from": before.effective_date, "to": after.effective_date },
            "notes": { "from": before.notes, "to": after.notes },
        }),
    )?;
    if let (Some(earlier), Some(moved)) = (earlier, &earlier_after) {
        store::cip_senior_manager::put_corrected(&mut transaction, earlier, moved)?;
        audit::record(
            &mut transaction,
            &caller.actor,
            "cip_senior_manager.corrected",
            "cip_senior_manager_assignment",
            earlier.id.as_str(),
            json!({ "endDate": { "from": earlier.end_date, "to": moved.end_date }, "becauseOf": id }),
        )?;
    }
    transaction.commit(store).await?;
    Ok(CsmAssignmentView::of(&after))
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
