//! Facilities through the REST door: the bodies, parsed into the commands' inputs (errors
//! name the JSON fields), and the view.

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::FacilityId;
use crate::model::facilities::{Facility, FacilityEdit, ImpactRating, NewFacility, external_id, facility_name};
use crate::model::principal::Principal;
use crate::operations::facilities;
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::Timestamp;

/// The facility object of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FacilityView {
    pub id: FacilityId,
    pub name: String,
    pub impact_rating: Option<ImpactRating>,
    pub external_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

impl FacilityView {
    pub fn of(facility: &Facility) -> Self {
        FacilityView {
            id: facility.id.clone(),
            name: facility.name.clone(),
            impact_rating: facility.impact_rating,
            external_id: facility.external_id.clone(),
            created_at: facility.created_at,
            updated_at: facility.updated_at,
            deleted_at: facility.deleted_at,
        }
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateFacility {
    pub name: String,
    pub impact_rating: Option<ImpactRating>,
    pub external_id: Option<String>,
}

impl CreateFacility {
    pub fn parse(self) -> ApiResult<NewFacility> {
        Ok(NewFacility {
            name: facility_name(&self.name)?,
            impact_rating: self.impact_rating,
            external_id: external_id(self.external_id.as_deref())?,
        })
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateFacility {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub impact_rating: Option<Option<ImpactRating>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub external_id: Option<Option<String>>,
}

impl UpdateFacility {
    pub fn parse(self) -> ApiResult<FacilityEdit> {
        Ok(FacilityEdit {
            name: self.name.as_deref().map(facility_name).transpose()?,
            impact_rating: self.impact_rating,
            external_id: self.external_id.map(|id| external_id(id.as_deref())).transpose()?,
        })
    }
}

/// `POST /facilities`. The permission is checked before the body's fields, as the command
/// would, so a caller without it learns nothing from validation errors.
pub async fn create(store: &Store, principal: &Principal, body: CreateFacility) -> ApiResult<FacilityView> {
    principal.require(Permission::TrainingWrite)?;
    let facility = facilities::create_facility(store, principal, body.parse()?).await?;
    Ok(FacilityView::of(&facility))
}

/// `PATCH /facilities/{id}`.
pub async fn update(
    store: &Store,
    principal: &Principal,
    id: &FacilityId,
    body: UpdateFacility,
) -> ApiResult<FacilityView> {
    principal.require(Permission::TrainingWrite)?;
    let facility = facilities::update_facility(store, principal, id, body.parse()?).await?;
    Ok(FacilityView::of(&facility))
}

pub async fn list(store: &Store, principal: &Principal, page: &PageRequest) -> ApiResult<ListPage<FacilityView>> {
    let page = facilities::list_facilities(store, principal, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(FacilityView::of).collect(),
        next_cursor: page.next_cursor,
    })
}
