//! Audit events: `ORG#<org>#AUDIT / evt_…` (newest first by id), with GSI1 by target and
//! GSI2 by actor. Events are only ever put, never updated or deleted.

use aws_sdk_dynamodb::types::AttributeValue;

use super::keys::{self, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK};
use super::query::{QuerySpec, SortRange};
use std::collections::BTreeMap;

use super::query::Filter;
use super::{Page, Store, Transaction, to_item};
use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId, UserId};
use crate::model::audit::AuditEvent;
use crate::model::events::Event;
use crate::model::principal::Actor;
use crate::time::Timestamp;

/// The version of the payload's type (`model::events`) the event was written with.
pub const PAYLOAD_VERSION: &str = "payloadVersion";

fn put_event(transaction: &mut Transaction, event: &AuditEvent, version: u32) -> ApiResult<()> {
    let org = &event.organization_id;
    let mut item = to_item(event)?;
    item.insert(PAYLOAD_VERSION.into(), AttributeValue::N(version.to_string()));
    item.insert(PK.into(), AttributeValue::S(keys::audit_partition(org)));
    item.insert(SK.into(), AttributeValue::S(event.id.to_string()));
    item.insert(
        GSI1PK.into(),
        AttributeValue::S(keys::audit_target_partition(org, &event.target_id)),
    );
    item.insert(GSI1SK.into(), AttributeValue::S(event.id.to_string()));
    item.insert(
        GSI2PK.into(),
        AttributeValue::S(keys::audit_actor_partition(org, &event.actor_id)),
    );
    item.insert(GSI2SK.into(), AttributeValue::S(event.id.to_string()));
    // Across organizations by time, for the digest job (`store::audit_digests`).
    item.extend(super::audit_digests::event_time_attributes(event));
    transaction.put_new(item, ApiError::internal("audit event id collision"))
}

/// Records a mutation: the event joins the transaction that makes the change it records.
/// The stored audit event is the domain event: its type as `action`, its payload as
/// `summary`, and its payload version beside them (`payloadVersion`).
pub fn record(
    transaction: &mut Transaction,
    actor: &Actor,
    at: Timestamp,
    target_id: &str,
    event: &Event,
) -> ApiResult<()> {
    let audit = AuditEvent::new(
        actor,
        at,
        event.action(),
        event.target_type(),
        target_id,
        event.payload()?,
    );
    put_event(transaction, &audit, event.version())
}

/// One event by its id.
pub async fn get_event(store: &Store, org: &OrgId, id: &EventId) -> ApiResult<Option<AuditEvent>> {
    store.get(keys::key(keys::audit_partition(org), id.as_str())).await
}

/// Which events: all of an organization's, or those about one target or by one actor,
/// within an id range that encodes the time range.
pub struct EventQuery<'a> {
    pub org: &'a OrgId,
    pub target_id: Option<&'a str>,
    pub actor_id: Option<&'a UserId>,
    pub id_range: (String, String),
}

pub async fn list_events(
    store: &Store,
    query: &EventQuery<'_>,
    limit: usize,
    after: Option<&BTreeMap<String, String>>,
) -> ApiResult<Page<AuditEvent>> {
    let range = SortRange::Between(query.id_range.0.clone(), query.id_range.1.clone());
    let spec = match (query.target_id, query.actor_id) {
        (Some(target), actor) => {
            let spec = QuerySpec::index(
                GSI1,
                GSI1PK,
                GSI1SK,
                keys::audit_target_partition(query.org, target),
                range,
            );
            spec.with_filter(actor.map(|actor| Filter {
                expression: "#actor = :actor".into(),
                names: [("#actor".to_string(), "actorId".to_string())].into(),
                values: [(":actor".to_string(), AttributeValue::S(actor.to_string()))].into(),
            }))
        }
        (None, Some(actor)) => QuerySpec::index(
            GSI2,
            GSI2PK,
            GSI2SK,
            keys::audit_actor_partition(query.org, actor),
            range,
        ),
        (None, None) => QuerySpec::table(keys::audit_partition(query.org), range),
    }
    .newest_first();
    store.query_records(&spec, limit, after).await
}
