//! Training modules through the REST door: the bodies, parsed into the commands' inputs
//! (errors name the JSON fields), and the view.

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::TrainingModuleId;
use crate::model::principal::Principal;
use crate::model::training_modules::{self as rules, ModuleEdit, NewModule, TrainingModule};
use crate::operations::training_modules;
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::Timestamp;

/// The training module object of the API (seed 001); `retiredAt` only once retired.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrainingModuleView {
    pub id: TrainingModuleId,
    pub title: String,
    pub description: Option<String>,
    pub cip_standard: Option<String>,
    pub completion_interval_days: Option<u32>,
    pub external_module_url: Option<String>,
    /// The xAPI activity id statements name the module by, when not `externalModuleUrl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xapi_activity_id: Option<String>,
    /// `false`: the daily job does not assign the module again when a completion nears
    /// its expiry (`docs/training.md`).
    pub renewal_enabled: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retired_at: Option<Timestamp>,
}

impl TrainingModuleView {
    pub fn of(module: &TrainingModule) -> Self {
        TrainingModuleView {
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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTrainingModule {
    pub title: String,
    pub description: Option<String>,
    pub cip_standard: Option<String>,
    pub completion_interval_days: Option<i64>,
    pub external_module_url: Option<String>,
    /// The xAPI activity id (an IRI) statements name the module by, when it is not
    /// `externalModuleUrl` (docs/lms.md).
    pub xapi_activity_id: Option<String>,
    /// Default `true`.
    pub renewal_enabled: Option<bool>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTrainingModule {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub cip_standard: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub completion_interval_days: Option<Option<i64>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub external_module_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub xapi_activity_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub renewal_enabled: Option<bool>,
}

impl CreateTrainingModule {
    /// The command's input; the first invalid field is the error, in body order.
    pub fn parse(self) -> ApiResult<NewModule> {
        Ok(NewModule {
            title: rules::title(&self.title)?,
            description: rules::description(self.description.as_deref())?,
            cip_standard: rules::cip_standard(self.cip_standard.as_deref())?,
            completion_interval_days: rules::completion_interval_days(self.completion_interval_days)?,
            external_module_url: rules::external_module_url(self.external_module_url.as_deref())?,
            xapi_activity_id: rules::xapi_activity_id(self.xapi_activity_id.as_deref())?,
            renewal_enabled: self.renewal_enabled.unwrap_or(true),
        })
    }
}

impl UpdateTrainingModule {
    pub fn parse(self) -> ApiResult<ModuleEdit> {
        Ok(ModuleEdit {
            title: self.title.as_deref().map(rules::title).transpose()?,
            description: self
                .description
                .map(|text| rules::description(text.as_deref()))
                .transpose()?,
            cip_standard: self
                .cip_standard
                .map(|text| rules::cip_standard(text.as_deref()))
                .transpose()?,
            completion_interval_days: self
                .completion_interval_days
                .map(rules::completion_interval_days)
                .transpose()?,
            external_module_url: self
                .external_module_url
                .map(|text| rules::external_module_url(text.as_deref()))
                .transpose()?,
            xapi_activity_id: self
                .xapi_activity_id
                .map(|text| rules::xapi_activity_id(text.as_deref()))
                .transpose()?,
            renewal_enabled: self.renewal_enabled,
        })
    }
}

/// `POST /training-modules`. The permission is checked before the body's fields, as the
/// command would, so a caller without it learns nothing from validation errors.
pub async fn create(store: &Store, principal: &Principal, body: CreateTrainingModule) -> ApiResult<TrainingModuleView> {
    principal.require(Permission::TrainingWrite)?;
    let module = training_modules::create_module(store, principal, body.parse()?).await?;
    Ok(TrainingModuleView::of(&module))
}

/// `PATCH /training-modules/{id}`.
pub async fn update(
    store: &Store,
    principal: &Principal,
    id: &TrainingModuleId,
    body: UpdateTrainingModule,
) -> ApiResult<TrainingModuleView> {
    principal.require(Permission::TrainingWrite)?;
    let module = training_modules::update_module(store, principal, id, body.parse()?).await?;
    Ok(TrainingModuleView::of(&module))
}

pub async fn list(
    store: &Store,
    principal: &Principal,
    include_retired: bool,
    page: &PageRequest,
) -> ApiResult<ListPage<TrainingModuleView>> {
    let page = training_modules::list_modules(store, principal, include_retired, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(TrainingModuleView::of).collect(),
        next_cursor: page.next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::OrgId;
    use crate::model::events::training_modules::TrainingModuleCreated;
    use crate::model::training_modules::ModuleStatus;

    /// The created event stored the module's API view; its typed payload keeps those bytes.
    #[test]
    fn the_created_event_payload_is_the_module_as_the_api_shows_it() {
        let at = Timestamp::parse("t", "2026-12-05T10:00:00Z").unwrap();
        for (interval, url, retired_at) in [
            (Some(365), Some("https://lms.example/c/1".to_string()), None),
            (None, None, Some(at)),
        ] {
            let module = TrainingModule {
                id: TrainingModuleId::new(),
                organization_id: OrgId::new(),
                title: "CIP-004 annual".into(),
                description: None,
                cip_standard: Some("CIP-004-7".into()),
                completion_interval_days: interval,
                external_module_url: url,
                xapi_activity_id: None,
                renewal_enabled: true,
                status: ModuleStatus::Active,
                created_at: at,
                updated_at: at,
                retired_at,
                version: 1,
            };
            assert_eq!(
                serde_json::to_value(TrainingModuleCreated::of(&module)).unwrap(),
                serde_json::to_value(TrainingModuleView::of(&module)).unwrap()
            );
        }
    }
}
