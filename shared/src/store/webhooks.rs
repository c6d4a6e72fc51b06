//! Webhook endpoints and deliveries.
//!
//! - An endpoint: `ORG#<org>#WEBHOOK_ENDPOINTS / whe_…`, so the dispatcher reads an
//!   organization's endpoints in one Query.
//! - A delivery of one event to one endpoint: `ORG#<org>#WEBHOOK#<endpoint> / evt_…`
//!   (newest first by the event's time); the event id as the key makes a second dispatch
//!   of the same event a no-op.
//! - A delivery that is due (its next attempt, or a queued one whose lease ran out) also
//!   sits on GSI7 `WEBHOOK_DUE#<shard> / <due millis>#<org>#<endpoint>#<event>`, across
//!   organizations, read only by the dispatcher's sweep; a finished one leaves it.

use std::collections::BTreeMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI7, GSI7PK, GSI7SK};
use super::query::{Filter, QuerySpec, SortRange};
use super::transaction::Condition;
use super::{Item, Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId, WebhookEndpointId};
use crate::model::webhooks::{DeliveryStatus, WebhookDelivery, WebhookEndpoint};
use crate::time::Timestamp;

/// An organization may register this many endpoints.
pub const MAX_ENDPOINTS: usize = 20;

/// The sweep's partitions: a delivery's shard comes from its event id's last (random)
/// character, so it never changes.
pub const DUE_SHARDS: u8 = 4;

fn endpoints_partition(org: &OrgId) -> String {
    format!("ORG#{org}#WEBHOOK_ENDPOINTS")
}

fn deliveries_partition(org: &OrgId, endpoint: &WebhookEndpointId) -> String {
    format!("ORG#{org}#WEBHOOK#{endpoint}")
}

fn due_partition(shard: u8) -> String {
    format!("WEBHOOK_DUE#{shard}")
}

fn due_shard(event: &EventId) -> u8 {
    event.as_str().bytes().last().unwrap_or(0) % DUE_SHARDS
}

fn endpoint_key(org: &OrgId, id: &WebhookEndpointId) -> Item {
    keys::key(endpoints_partition(org), id.as_str())
}

fn delivery_key(org: &OrgId, endpoint: &WebhookEndpointId, event: &EventId) -> Item {
    keys::key(deliveries_partition(org, endpoint), event.as_str())
}

fn endpoint_item(endpoint: &WebhookEndpoint) -> ApiResult<Item> {
    let mut item = to_item(endpoint)?;
    item.extend(endpoint_key(&endpoint.organization_id, &endpoint.id));
    Ok(item)
}

fn delivery_item(delivery: &WebhookDelivery) -> ApiResult<Item> {
    let mut item = to_item(delivery)?;
    item.extend(delivery_key(
        &delivery.organization_id,
        &delivery.endpoint_id,
        &delivery.event_id,
    ));
    if let Some(due) = delivery.due_at {
        item.insert(
            GSI7PK.into(),
            AttributeValue::S(due_partition(due_shard(&delivery.event_id))),
        );
        item.insert(
            GSI7SK.into(),
            AttributeValue::S(format!(
                "{}#{}#{}#{}",
                keys::millis_sort_key(due.millis()),
                delivery.organization_id,
                delivery.endpoint_id,
                delivery.event_id
            )),
        );
    }
    Ok(item)
}

pub async fn get_endpoint(store: &Store, org: &OrgId, id: &WebhookEndpointId) -> ApiResult<Option<WebhookEndpoint>> {
    store.get(endpoint_key(org, id)).await
}

pub fn put_new_endpoint(transaction: &mut Transaction, endpoint: &WebhookEndpoint) -> ApiResult<()> {
    transaction.put_new(
        endpoint_item(endpoint)?,
        ApiError::conflict("this webhook endpoint exists already"),
    )
}

fn changed_concurrently() -> ApiError {
    ApiError::conflict("the webhook endpoint was changed by another request; read it again and retry")
}

pub fn put_updated_endpoint(
    transaction: &mut Transaction,
    before: &WebhookEndpoint,
    after: &WebhookEndpoint,
) -> ApiResult<()> {
    transaction.put(
        endpoint_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )
}

pub fn delete_endpoint(transaction: &mut Transaction, before: &WebhookEndpoint) -> ApiResult<()> {
    transaction.delete(
        endpoint_key(&before.organization_id, &before.id),
        Some(Condition::at_version(before.version)),
        Some(changed_concurrently()),
    )
}

/// One page of the organization's endpoints, oldest first.
pub async fn list_endpoints(
    store: &Store,
    org: &OrgId,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<WebhookEndpoint>> {
    let spec = QuerySpec::table(endpoints_partition(org), SortRange::All);
    store.query_records(&spec, limit, after).await
}

/// Every endpoint of the organization (at most `MAX_ENDPOINTS`, one Query).
pub async fn all_endpoints(store: &Store, org: &OrgId) -> ApiResult<Vec<WebhookEndpoint>> {
    Ok(list_endpoints(store, org, MAX_ENDPOINTS + 1, None).await?.items)
}

pub async fn get_delivery(
    store: &Store,
    org: &OrgId,
    endpoint: &WebhookEndpointId,
    event: &EventId,
) -> ApiResult<Option<WebhookDelivery>> {
    store.get(delivery_key(org, endpoint, event)).await
}

/// Puts a new delivery; `Ok(false)` when one of this event to this endpoint exists (a
/// dispatch seen twice).
pub async fn put_new_delivery(store: &Store, delivery: &WebhookDelivery) -> ApiResult<bool> {
    store.put_if(delivery_item(delivery)?, Condition::item_absent()).await
}

/// Replaces `before` with `after` unless someone changed it since it was read; `Ok(false)`
/// when someone did (another attempt or sweep got there first).
pub async fn put_updated_delivery(store: &Store, before: &WebhookDelivery, after: &WebhookDelivery) -> ApiResult<bool> {
    store
        .put_if(delivery_item(after)?, Condition::at_version(before.version))
        .await
}

pub fn put_updated_delivery_in(
    transaction: &mut Transaction,
    before: &WebhookDelivery,
    after: &WebhookDelivery,
) -> ApiResult<()> {
    transaction.put(
        delivery_item(after)?,
        Some(Condition::at_version(before.version)),
        Some(ApiError::conflict(
            "this delivery was changed by another attempt; read it again and retry",
        )),
    )
}

/// One page of an endpoint's deliveries, newest event first; with a status, those in it
/// (a filter on the endpoint's partition, bounded as every filtered read).
pub async fn list_deliveries(
    store: &Store,
    org: &OrgId,
    endpoint: &WebhookEndpointId,
    status: Option<DeliveryStatus>,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<WebhookDelivery>> {
    let spec = QuerySpec::table(deliveries_partition(org, endpoint), SortRange::All)
        .newest_first()
        .with_filter(status.map(|status| Filter {
            expression: "#status = :status".into(),
            names: [("#status".to_string(), "status".to_string())].into(),
            values: [(":status".to_string(), AttributeValue::S(status.as_str().to_string()))].into(),
        }));
    store.query_records(&spec, limit, after).await
}

/// Deliveries of one shard due at or before `now`, every organization's, earliest first.
pub async fn due_deliveries(store: &Store, shard: u8, now: Timestamp, limit: usize) -> ApiResult<Vec<WebhookDelivery>> {
    // `~` sorts after every character of the rest of the key.
    let until = format!("{}#~", keys::millis_sort_key(now.millis()));
    let spec = QuerySpec::index(
        GSI7,
        GSI7PK,
        GSI7SK,
        due_partition(shard),
        SortRange::Between(keys::millis_sort_key(0), until),
    );
    Ok(store.query_records(&spec, limit, None).await?.items)
}
