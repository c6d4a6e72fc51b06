//! Organizations: `ORG#<org> / ORG`, and `ORGNAME#<lowercase name> / ORGNAME` markers that
//! keep names unique so bootstrap can tell an existing organization apart.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, PK, SK};
use super::{Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::OrgId;
use crate::model::organizations::Organization;

pub fn put_new(transaction: &mut Transaction, organization: &Organization) -> ApiResult<()> {
    let mut item = to_item(organization)?;
    item.insert(PK.into(), AttributeValue::S(keys::org_partition(&organization.id)));
    item.insert(SK.into(), AttributeValue::S(keys::ORG_PROFILE.into()));
    transaction.put_new(item, ApiError::internal("organization id collision"))?;

    let mut name_marker = keys::organization_name_key(&organization.name.to_lowercase());
    name_marker.insert("organizationId".into(), AttributeValue::S(organization.id.to_string()));
    transaction.put_new(
        name_marker,
        ApiError::conflict(format!("an organization named `{}` already exists", organization.name)),
    )
}

pub async fn find_by_name(store: &Store, name: &str) -> ApiResult<Option<OrgId>> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct NameMarker {
        organization_id: OrgId,
    }
    let marker: Option<NameMarker> = store.get(keys::organization_name_key(&name.to_lowercase())).await?;
    Ok(marker.map(|marker| marker.organization_id))
}
