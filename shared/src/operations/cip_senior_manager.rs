//! The CIP Senior Manager (CIP-003 R3): read the current designation or the one in force
//! on a date, designate a new one, correct one. See `model::cip_senior_manager`.

use crate::error::{ApiError, ApiResult};
use crate::ids::CsmAssignmentId;
use crate::model::cip_senior_manager::{
    CsmAssignment, Designation, DesignationCorrection, NewDesignation, effective_date_not_in_future, end_previous,
};
use crate::model::events::cip_senior_manager::{CsmCorrected, CsmDesignated, CsmEnded};
use crate::model::events::{DateChange, Event, OptionalDateChange, OptionalTextChange};
use crate::model::principal::Principal;
use crate::model::users::MemberStatus;
use crate::operations::users::get_member;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::time::Date;

/// Who was designated on `as_of` (today by default), with their name and email.
pub async fn current(store: &Store, principal: &Principal, as_of: Option<Date>) -> ApiResult<Designation> {
    principal.require(Permission::CipRead)?;
    let found = match as_of {
        Some(date) => store::cip_senior_manager::in_force_on(store, principal.org(), date).await?,
        None => store::cip_senior_manager::current(store, principal.org()).await?,
    };
    let Some(assignment) = found else {
        return Err(ApiError::NotFound {
            resource: match as_of {
                Some(_) => "CIP Senior Manager designation in force on that date",
                None => "current CIP Senior Manager designation (none is designated yet)",
            },
        });
    };
    // The designee's record is kept even after deletion, so the name is always there.
    let designee = store::members::get(store, principal.org(), &assignment.user_id).await?;
    Ok(Designation { assignment, designee })
}

pub async fn get_assignment(store: &Store, principal: &Principal, id: &CsmAssignmentId) -> ApiResult<CsmAssignment> {
    principal.require(Permission::CipRead)?;
    store::cip_senior_manager::get(store, principal.org(), id)
        .await?
        .ok_or(ApiError::NotFound {
            resource: "CIP Senior Manager assignment",
        })
}

pub async fn list_assignments(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<CsmAssignment>> {
    principal.require(Permission::CipRead)?;
    let result = store::cip_senior_manager::list(store, principal.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// Designates a CIP Senior Manager, ending the current designation the day before.
pub async fn designate(store: &Store, principal: &Principal, input: NewDesignation) -> ApiResult<Designation> {
    principal.require(Permission::CipWrite)?;
    let notes = input.notes;
    effective_date_not_in_future(input.effective_date, store.clock().today())?;
    let member = get_member(store, principal.org(), &input.user_id).await?;
    if member.status != MemberStatus::Active {
        return Err(ApiError::conflict(format!(
            "user `{}` is {}; only an active member can be designated",
            member.user_id,
            member.status.as_str()
        )));
    }

    let current = store::cip_senior_manager::current(store, principal.org()).await?;
    let previous = current.as_ref();
    let now = store.clock().now();
    let designated = CsmAssignment {
        id: CsmAssignmentId::new(),
        organization_id: principal.org().clone(),
        user_id: member.user_id.clone(),
        effective_date: input.effective_date,
        end_date: None,
        notes,
        recorded_by: principal.user().clone(),
        recorded_at: now,
        updated_by: principal.user().clone(),
        updated_at: now,
        version: 1,
    };
    let ended = match previous {
        Some(previous) => Some(end_previous(previous, &designated, principal, now)?),
        None => None,
    };

    let mut transaction = Transaction::new();
    store::cip_senior_manager::put_designation(&mut transaction, &designated, previous.zip(ended.as_ref()))?;
    store::cip_senior_manager::check_member_active(&mut transaction, principal.org(), &designated.user_id)?;
    let event = Event::CsmDesignated(CsmDesignated {
        user_id: designated.user_id.clone(),
        effective_date: designated.effective_date,
        notes: designated.notes.clone(),
        replaces_assignment_id: previous.map(|p| p.id.clone()),
    });
    store::audit::record(&mut transaction, &principal.actor, now, designated.id.as_str(), &event)?;
    if let Some(ended) = &ended {
        let event = Event::CsmEnded(CsmEnded {
            user_id: ended.user_id.clone(),
            end_date: ended.end_date,
            replaced_by_assignment_id: designated.id.clone(),
        });
        store::audit::record(&mut transaction, &principal.actor, now, ended.id.as_str(), &event)?;
    }
    transaction.commit(store).await?;
    Ok(Designation {
        assignment: designated,
        designee: Some(member),
    })
}

/// Corrects an assignment's effective date or notes. The history stays contiguous and
/// never overlaps: the effective date stays strictly between the neighbours' ones, and the
/// previous designation's end date follows it.
pub async fn correct(
    store: &Store,
    principal: &Principal,
    id: &CsmAssignmentId,
    input: DesignationCorrection,
) -> ApiResult<CsmAssignment> {
    principal.require(Permission::CipWrite)?;
    let before = &store::cip_senior_manager::get(store, principal.org(), id)
        .await?
        .ok_or(ApiError::NotFound {
            resource: "CIP Senior Manager assignment",
        })?;
    let (earlier, later) = store::cip_senior_manager::neighbours(store, before).await?;
    let (earlier, later) = (earlier.as_ref(), later.as_ref());

    let now = store.clock().now();
    let mut after = before.clone();
    if let Some(notes) = input.notes {
        after.notes = notes;
    }
    let mut earlier_after = None;
    if let Some(date) = input.effective_date.filter(|date| *date != before.effective_date) {
        effective_date_not_in_future(date, store.clock().today())?;
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
            moved.updated_by = principal.user().clone();
            moved.updated_at = now;
            moved.version += 1;
            earlier_after = Some(moved);
        }
    }
    if after == *before {
        return Ok(before.clone());
    }
    after.updated_by = principal.user().clone();
    after.updated_at = now;
    after.version += 1;

    let mut transaction = Transaction::new();
    store::cip_senior_manager::put_corrected(&mut transaction, before, &after)?;
    let corrected = Event::CsmCorrected(CsmCorrected {
        effective_date: Some(DateChange {
            from: before.effective_date,
            to: after.effective_date,
        }),
        notes: Some(OptionalTextChange {
            from: before.notes.clone(),
            to: after.notes.clone(),
        }),
        end_date: None,
        because_of: None,
    });
    store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &corrected)?;
    if let (Some(earlier), Some(moved)) = (earlier, &earlier_after) {
        store::cip_senior_manager::put_corrected(&mut transaction, earlier, moved)?;
        let moved_end = Event::CsmCorrected(CsmCorrected {
            effective_date: None,
            notes: None,
            end_date: Some(OptionalDateChange {
                from: earlier.end_date,
                to: moved.end_date,
            }),
            because_of: Some(id.clone()),
        });
        store::audit::record(&mut transaction, &principal.actor, now, earlier.id.as_str(), &moved_end)?;
    }
    transaction.commit(store).await?;
    Ok(after)
}
