//! Webhooks: the endpoints an organization registers, and the delivery of its audit events
//! to them (`docs/webhooks.md`).
//!
//! The commands (register, change, rotate the secret, delete, resend) are the REST door's.
//! Delivery runs outside any request, in three steps:
//! - `dispatch`: the dispatcher function, fed the table's stream, turns each new audit
//!   event into one delivery per endpoint that wants its type, and queues it;
//! - `deliver`: the sender function, fed the queue, makes one attempt and records it;
//! - `sweep`: the dispatcher, every minute, queues what is due (a retry after its backoff,
//!   a resend, or a queued delivery whose message was lost).

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};

use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId, WebhookEndpointId};
use crate::model::audit::AuditEvent;
use crate::model::events::Event;
use crate::model::events::webhooks::{
    WebhookDeliveryResent, WebhookEndpointChanges, WebhookEndpointCreated, WebhookEndpointDeleted,
    WebhookEndpointUpdated, WebhookSecretRotated,
};
use crate::model::principal::Principal;
use crate::model::secret_tokens;
use crate::model::webhooks::{
    self, DeliveryAttempt, DeliveryStatus, SIGNATURE_HEADER, SigningSecret, WebhookDelivery, WebhookEndpoint,
};
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::webhooks::{DUE_SHARDS, MAX_ENDPOINTS};
use crate::store::{self, Store, Transaction};
use crate::time::Timestamp;
use crate::webhook_client::WebhookClient;
use crate::webhook_queue::{DeliveryMessage, WebhookQueue};

/// A new endpoint, its fields checked.
#[derive(Debug)]
pub struct NewWebhookEndpoint {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
}

/// The fields a change sets; `None` keeps the field.
#[derive(Debug, Default)]
pub struct WebhookEndpointEdit {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

/// An endpoint with its signing secret, shown this once.
#[derive(Debug)]
pub struct EndpointWithSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: SecretString,
}

/// An endpoint receives the organization's audit events: who registers or points one
/// must be allowed to read the audit trail, or the endpoint would read it for them.
fn require_manage(principal: &Principal) -> ApiResult<()> {
    principal.require(Permission::WebhooksWrite)?;
    principal.require(Permission::AuditRead)
}

fn new_secret() -> ApiResult<SecretString> {
    Ok(SecretString::from(format!(
        "{}{}",
        webhooks::SECRET_PREFIX,
        secret_tokens::random_secret()?
    )))
}

pub async fn get_endpoint_record(store: &Store, org: &OrgId, id: &WebhookEndpointId) -> ApiResult<WebhookEndpoint> {
    store::webhooks::get_endpoint(store, org, id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "webhook endpoint",
            id: id.to_string(),
        })
}

pub async fn get_endpoint(store: &Store, principal: &Principal, id: &WebhookEndpointId) -> ApiResult<WebhookEndpoint> {
    principal.require(Permission::WebhooksRead)?;
    get_endpoint_record(store, principal.org(), id).await
}

pub async fn list_endpoints(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<WebhookEndpoint>> {
    principal.require(Permission::WebhooksRead)?;
    let result = store::webhooks::list_endpoints(store, principal.org(), page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

pub async fn create_endpoint(
    store: &Store,
    principal: &Principal,
    input: NewWebhookEndpoint,
) -> ApiResult<EndpointWithSecret> {
    require_manage(principal)?;
    if store::webhooks::all_endpoints(store, principal.org()).await?.len() >= MAX_ENDPOINTS {
        return Err(ApiError::conflict(format!(
            "an organization may register at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        )));
    }
    let now = store.clock().now();
    let secret = new_secret()?;
    let endpoint = WebhookEndpoint {
        id: WebhookEndpointId::new(),
        organization_id: principal.org().clone(),
        url: input.url,
        description: input.description,
        event_types: input.event_types,
        enabled: input.enabled,
        secrets: vec![SigningSecret {
            secret: secret.expose_secret().to_string(),
            created_at: now,
            expires_at: None,
        }],
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let mut transaction = Transaction::new();
    store::webhooks::put_new_endpoint(&mut transaction, &endpoint)?;
    let event = Event::WebhookEndpointCreated(WebhookEndpointCreated::of(&endpoint));
    store::audit::record(&mut transaction, &principal.actor, now, endpoint.id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(EndpointWithSecret { endpoint, secret })
}

pub async fn update_endpoint(
    store: &Store,
    principal: &Principal,
    id: &WebhookEndpointId,
    input: WebhookEndpointEdit,
) -> ApiResult<WebhookEndpoint> {
    require_manage(principal)?;
    let before = get_endpoint_record(store, principal.org(), id).await?;
    let mut after = before.clone();
    if let Some(url) = input.url {
        after.url = url;
    }
    if let Some(description) = input.description {
        after.description = description;
    }
    if let Some(types) = input.event_types {
        after.event_types = types;
    }
    if let Some(enabled) = input.enabled {
        after.enabled = enabled;
    }
    let changes = WebhookEndpointChanges::between(&before, &after);
    if changes.is_empty() {
        return Ok(before);
    }
    let now = store.clock().now();
    after.updated_at = now;
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::webhooks::put_updated_endpoint(&mut transaction, &before, &after)?;
    let event = Event::WebhookEndpointUpdated(WebhookEndpointUpdated { changes });
    store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(after)
}

/// Deleted for good; its pending deliveries are cancelled when the sender next meets them,
/// and its deliveries' records stay (evidence of what was sent).
pub async fn delete_endpoint(store: &Store, principal: &Principal, id: &WebhookEndpointId) -> ApiResult<()> {
    require_manage(principal)?;
    let before = get_endpoint_record(store, principal.org(), id).await?;
    let mut transaction = Transaction::new();
    store::webhooks::delete_endpoint(&mut transaction, &before)?;
    let event = Event::WebhookEndpointDeleted(WebhookEndpointDeleted {
        url: before.url.clone(),
    });
    store::audit::record(
        &mut transaction,
        &principal.actor,
        store.clock().now(),
        id.as_str(),
        &event,
    )?;
    transaction.commit(store).await
}

/// A new signing secret, shown this once; the current one keeps signing beside it for
/// `overlap_hours` so the receiver can switch without losing a delivery.
pub async fn rotate_secret(
    store: &Store,
    principal: &Principal,
    id: &WebhookEndpointId,
    overlap_hours: u32,
) -> ApiResult<EndpointWithSecret> {
    require_manage(principal)?;
    let before = get_endpoint_record(store, principal.org(), id).await?;
    let now = store.clock().now();
    let secret = new_secret()?;
    let mut after = before.clone();
    after.rotate(secret.expose_secret().to_string(), now, overlap_hours);
    after.updated_at = now;
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::webhooks::put_updated_endpoint(&mut transaction, &before, &after)?;
    let event = Event::WebhookSecretRotated(WebhookSecretRotated {
        previous_secret_expires_at: Timestamp::from_millis(now.millis() + i64::from(overlap_hours) * 3_600_000),
    });
    store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(EndpointWithSecret {
        endpoint: after,
        secret,
    })
}

pub async fn list_deliveries(
    store: &Store,
    principal: &Principal,
    id: &WebhookEndpointId,
    status: Option<DeliveryStatus>,
    page: &PageRequest,
) -> ApiResult<ListPage<WebhookDelivery>> {
    principal.require(Permission::WebhooksRead)?;
    get_endpoint_record(store, principal.org(), id).await?;
    let result =
        store::webhooks::list_deliveries(store, principal.org(), id, status, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// Asks for a delivery again, whatever became of it, with a new 3-day window of retries:
/// it is due at once, and the dispatcher's sweep (every minute) queues it. Nothing is sent
/// from the request itself.
pub async fn resend_delivery(
    store: &Store,
    principal: &Principal,
    id: &WebhookEndpointId,
    event_id: &EventId,
) -> ApiResult<WebhookDelivery> {
    require_manage(principal)?;
    let endpoint = get_endpoint_record(store, principal.org(), id).await?;
    if !endpoint.enabled {
        return Err(ApiError::conflict(
            "this webhook endpoint is disabled; enable it (PATCH `enabled: true`) before resending",
        ));
    }
    let before = store::webhooks::get_delivery(store, principal.org(), id, event_id)
        .await?
        .ok_or_else(|| ApiError::NotFoundId {
            resource: "webhook delivery",
            id: event_id.to_string(),
        })?;
    let now = store.clock().now();
    let after = before.resent(now);
    let mut transaction = Transaction::new();
    store::webhooks::put_updated_delivery_in(&mut transaction, &before, &after)?;
    let event = Event::WebhookDeliveryResent(WebhookDeliveryResent {
        event_id: event_id.clone(),
        event_type: before.event_type.clone(),
    });
    store::audit::record(&mut transaction, &principal.actor, now, id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(after)
}

fn message_for(delivery: &WebhookDelivery) -> DeliveryMessage {
    DeliveryMessage {
        organization_id: delivery.organization_id.clone(),
        endpoint_id: delivery.endpoint_id.clone(),
        event_id: delivery.event_id.clone(),
    }
}

/// What a dispatch did.
#[derive(Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DispatchReport {
    pub events: usize,
    pub deliveries_queued: usize,
    /// Deliveries the queue refused: they stay due and the sweep queues them.
    pub left_for_sweep: usize,
}

/// One delivery per new audit event and endpoint of its organization that wants its type,
/// each queued. Seeing an event twice (the stream redelivers a batch) queues nothing twice.
pub async fn dispatch(store: &Store, queue: &WebhookQueue, events: &[AuditEvent]) -> ApiResult<DispatchReport> {
    let mut report = DispatchReport {
        events: events.len(),
        ..DispatchReport::default()
    };
    let mut endpoints_of: BTreeMap<OrgId, Vec<WebhookEndpoint>> = BTreeMap::new();
    let now = store.clock().now();
    for event in events {
        if !endpoints_of.contains_key(&event.organization_id) {
            let endpoints = store::webhooks::all_endpoints(store, &event.organization_id).await?;
            endpoints_of.insert(event.organization_id.clone(), endpoints);
        }
        for endpoint in &endpoints_of[&event.organization_id] {
            if !endpoint.wants(event) {
                continue;
            }
            let delivery = WebhookDelivery::new(endpoint, &event.id, &event.action, now);
            if !store::webhooks::put_new_delivery(store, &delivery).await? {
                continue;
            }
            match queue.send(&message_for(&delivery)).await {
                Ok(()) => report.deliveries_queued += 1,
                Err(error) => {
                    tracing::warn!(error = %error, "a webhook delivery waits for the sweep");
                    report.left_for_sweep += 1;
                }
            }
        }
    }
    Ok(report)
}

/// What a sweep did.
#[derive(Debug, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepReport {
    pub deliveries_queued: usize,
}

/// Each shard's deliveries due by now, at most this many a run (the next run, a minute
/// later, takes the rest).
const SWEEP_LIMIT_PER_SHARD: usize = 250;

/// Queues every delivery that is due: a retry whose backoff has passed, or a queued one
/// whose message never reached a sender within the lease.
pub async fn sweep(store: &Store, queue: &WebhookQueue) -> ApiResult<SweepReport> {
    let now = store.clock().now();
    let mut report = SweepReport::default();
    for shard in 0..DUE_SHARDS {
        for before in store::webhooks::due_deliveries(store, shard, now, SWEEP_LIMIT_PER_SHARD).await? {
            let after = before.requeued(now);
            if store::webhooks::put_updated_delivery(store, &before, &after).await? {
                queue.send(&message_for(&after)).await?;
                report.deliveries_queued += 1;
            }
        }
    }
    Ok(report)
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "outcome")]
pub enum DeliverOutcome {
    /// Attempted; `status` is where the delivery stands after it.
    Attempted { status: DeliveryStatus, attempt: u32 },
    /// Nothing to do: finished already, not queued (a stale or repeated message), or
    /// another sender took it.
    Skipped,
    /// The endpoint is gone or disabled.
    Cancelled,
}

/// Makes one attempt of the delivery a message names, and records it.
pub async fn deliver(store: &Store, client: &WebhookClient, message: &DeliveryMessage) -> ApiResult<DeliverOutcome> {
    let org = &message.organization_id;
    let Some(before) = store::webhooks::get_delivery(store, org, &message.endpoint_id, &message.event_id).await? else {
        return Ok(DeliverOutcome::Skipped);
    };
    if before.status != DeliveryStatus::Pending || before.queued_at.is_none() {
        return Ok(DeliverOutcome::Skipped);
    }
    let now = store.clock().now();
    let endpoint = store::webhooks::get_endpoint(store, org, &message.endpoint_id).await?;
    let Some(endpoint) = endpoint.filter(|endpoint| endpoint.enabled) else {
        store::webhooks::put_updated_delivery(store, &before, &before.cancelled(now)).await?;
        return Ok(DeliverOutcome::Cancelled);
    };
    let Some(event) = store::audit::get_event(store, org, &message.event_id).await? else {
        // Only an edit of the table by hand gets here; retrying would never send it.
        let reason = format!(
            "the audit event {} is not in the audit trail; nothing was sent",
            message.event_id
        );
        store::webhooks::put_updated_delivery(store, &before, &before.abandoned(&reason, now)).await?;
        return Ok(DeliverOutcome::Attempted {
            status: DeliveryStatus::Failed,
            attempt: before.attempt_count + 1,
        });
    };
    // Taken by this sender alone: a second message for the same delivery loses here.
    let claimed = before.claimed(now);
    if !store::webhooks::put_updated_delivery(store, &before, &claimed).await? {
        return Ok(DeliverOutcome::Skipped);
    }
    let number = claimed.attempt_count + 1;
    let body = serde_json::to_vec(&event).map_err(ApiError::internal)?;
    let timestamp = now.millis().div_euclid(1000);
    let headers = [
        (
            SIGNATURE_HEADER,
            webhooks::signature_header(&endpoint.live_secrets(now), timestamp, &body),
        ),
        ("Raptor-Event-Id", event.id.to_string()),
        ("Raptor-Event-Type", event.action.clone()),
        ("Raptor-Delivery-Attempt", number.to_string()),
    ];
    let sent = client.post(&endpoint.url, &headers, body).await;
    let attempt = DeliveryAttempt {
        number,
        attempted_at: now,
        status_code: sent.status_code,
        error: sent.error,
        duration_ms: u64::try_from(sent.duration.as_millis()).unwrap_or(u64::MAX),
    };
    let after = claimed.after_attempt(attempt, store.clock().now());
    if !store::webhooks::put_updated_delivery(store, &claimed, &after).await? {
        // A resend changed it while this attempt was out: the resend's attempt follows.
        tracing::warn!(eventId = %message.event_id, "a webhook attempt's record lost to a resend");
    }
    Ok(DeliverOutcome::Attempted {
        status: after.status,
        attempt: number,
    })
}
