//! API keys: `APIKEY#<key> / APIKEY` (read by id at authentication), with GSI1
//! `ORG#<org>#APIKEYS / <key id>` to list an organization's keys.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK};
use super::query::{QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{ApiKeyId, OrgId};
use crate::model::api_keys::ApiKey;

fn key_item(key: &ApiKey) -> ApiResult<Item> {
    let mut item = to_item(key)?;
    item.extend(keys::api_key_key(&key.id));
    item.insert(
        GSI1PK.into(),
        AttributeValue::S(keys::org_api_keys_partition(&key.organization_id)),
    );
    item.insert(GSI1SK.into(), AttributeValue::S(key.id.to_string()));
    Ok(item)
}

pub async fn get(store: &Store, id: &ApiKeyId) -> ApiResult<Option<ApiKey>> {
    store.get(keys::api_key_key(id)).await
}

pub fn put_new(transaction: &mut Transaction, key: &ApiKey) -> ApiResult<()> {
    transaction.put_new(key_item(key)?, ApiError::internal("API key id collision"))
}

pub fn put_updated(transaction: &mut Transaction, key: &ApiKey, expected_version: u64) -> ApiResult<()> {
    transaction.put(
        key_item(key)?,
        Some(Condition::at_version(expected_version)),
        Some(ApiError::conflict(
            "the API key was changed by a concurrent request; retry",
        )),
    )
}

pub async fn list(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<ApiKey>> {
    let spec = QuerySpec::index(
        GSI1,
        GSI1PK,
        GSI1SK,
        keys::org_api_keys_partition(org),
        SortRange::BeginsWith(ApiKeyId::PREFIX.into()),
    );
    store.query_records(&spec, limit, after).await
}
