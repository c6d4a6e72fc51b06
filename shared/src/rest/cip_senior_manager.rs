//! The CIP Senior Manager through the REST door: the bodies, parsed into the commands'
//! inputs (errors name the JSON fields), and the view.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{CsmAssignmentId, UserId};
use crate::model::cip_senior_manager::{
    CsmAssignment, Designation, DesignationCorrection, MAX_NOTES_LENGTH, NewDesignation,
};
use crate::model::principal::Principal;
use crate::operations::cip_senior_manager as csm;
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::{Date, Timestamp};
use crate::validation;

#[derive(Debug, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Designate {
    pub user_id: UserId,
    pub effective_date: Date,
    pub notes: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Correct {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub effective_date: Option<Date>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub notes: Option<Option<String>>,
    /// Accepted only to explain why it cannot change: present at all (even `null`) is a 400.
    #[serde(default, deserialize_with = "patch::clearable")]
    pub user_id: Option<Option<serde_json::Value>>,
}

impl CsmAssignmentView {
    /// A designation with its designee's name and email.
    pub fn of_designation(designation: &Designation) -> Self {
        let mut view = CsmAssignmentView::of(&designation.assignment);
        if let Some(member) = &designation.designee {
            view.user_display_name = Some(member.display_name.to_string());
            view.user_email = Some(member.email.to_string());
        }
        view
    }
}

impl Designate {
    pub fn parse(self) -> ApiResult<NewDesignation> {
        Ok(NewDesignation {
            user_id: self.user_id,
            effective_date: self.effective_date,
            notes: validation::optional_free_text("notes", self.notes.as_deref(), MAX_NOTES_LENGTH)?,
        })
    }
}

impl Correct {
    pub fn parse(self) -> ApiResult<DesignationCorrection> {
        if self.user_id.is_some() {
            return Err(ApiError::validation(
                "userId",
                "the designated user cannot be changed; designate the new CIP Senior Manager with POST /cip-senior-manager-assignments",
            ));
        }
        Ok(DesignationCorrection {
            effective_date: self.effective_date,
            notes: self
                .notes
                .map(|notes| validation::optional_free_text("notes", notes.as_deref(), MAX_NOTES_LENGTH))
                .transpose()?,
        })
    }
}

/// `POST /cip-senior-manager-assignments`. The permission is checked before the body's
/// fields, as the command would, so a caller without it learns nothing from validation
/// errors.
pub async fn designate(store: &Store, principal: &Principal, body: Designate) -> ApiResult<CsmAssignmentView> {
    principal.require(Permission::CipWrite)?;
    let designation = csm::designate(store, principal, body.parse()?).await?;
    Ok(CsmAssignmentView::of_designation(&designation))
}

/// `PATCH /cip-senior-manager-assignments/{id}`.
pub async fn correct(
    store: &Store,
    principal: &Principal,
    id: &CsmAssignmentId,
    body: Correct,
) -> ApiResult<CsmAssignmentView> {
    principal.require(Permission::CipWrite)?;
    let corrected = csm::correct(store, principal, id, body.parse()?).await?;
    Ok(CsmAssignmentView::of(&corrected))
}

pub async fn list(store: &Store, principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<CsmAssignmentView>> {
    let page = csm::list_assignments(store, principal, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(CsmAssignmentView::of).collect(),
        next_cursor: page.next_cursor,
    })
}
