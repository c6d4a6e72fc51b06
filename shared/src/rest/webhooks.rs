//! Webhooks through the REST door: the bodies, parsed into the commands' inputs (errors
//! name the JSON fields), and the views (the signing secret only in the answers that
//! issue one).

use serde::{Deserialize, Serialize};

use crate::error::ApiResult;
use crate::ids::{EventId, WebhookEndpointId};
use crate::model::principal::Principal;
use crate::model::secret_tokens::{self, SecretString};
use crate::model::webhooks::{
    self, DeliveryAttempt, DeliveryStatus, DestinationPolicy, MAX_DESCRIPTION_LENGTH, WebhookDelivery, WebhookEndpoint,
};
use crate::operations::webhooks::{self as commands, EndpointWithSecret, NewWebhookEndpoint, WebhookEndpointEdit};
use crate::pagination::{ListPage, PageRequest};
use crate::patch;
use crate::permissions::Permission;
use crate::store::Store;
use crate::time::Timestamp;
use crate::validation;
use crate::webhook_client;

/// The webhook endpoint object of the API.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointView {
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: Option<String>,
    /// The event types delivered to it (docs/events.md).
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Until when the secret replaced by the last rotation still signs beside the current one.
    pub previous_secret_expires_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WebhookEndpointView {
    pub fn of(endpoint: &WebhookEndpoint, now: Timestamp) -> Self {
        WebhookEndpointView {
            id: endpoint.id.clone(),
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            event_types: endpoint.event_types.clone(),
            enabled: endpoint.enabled,
            previous_secret_expires_at: endpoint.previous_secret_expires_at(now),
            created_at: endpoint.created_at,
            updated_at: endpoint.updated_at,
        }
    }
}

/// An endpoint with its signing secret: the answer of its creation and of a rotation, the
/// only times the secret is shown.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpointView,
    /// `whsec_…`: the key of the HMAC-SHA256 in `Raptor-Signature` (docs/webhooks.md).
    #[serde(serialize_with = "secret_tokens::serialize_exposed")]
    #[schema(value_type = String)]
    pub secret: SecretString,
}

impl WebhookEndpointWithSecret {
    fn of(issued: EndpointWithSecret, now: Timestamp) -> Self {
        WebhookEndpointWithSecret {
            endpoint: WebhookEndpointView::of(&issued.endpoint, now),
            secret: issued.secret,
        }
    }
}

/// One event's delivery to one endpoint, with every attempt.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryView {
    /// The audit event delivered (its id is the delivery's id).
    pub event_id: EventId,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempt_count: u32,
    /// The newest 50 attempts, oldest first.
    pub attempts: Vec<DeliveryAttempt>,
    /// When the next attempt is due, while it waits for one.
    pub next_attempt_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl WebhookDeliveryView {
    pub fn of(delivery: &WebhookDelivery) -> Self {
        let waiting = delivery.status == DeliveryStatus::Pending && delivery.queued_at.is_none();
        WebhookDeliveryView {
            event_id: delivery.event_id.clone(),
            event_type: delivery.event_type.clone(),
            status: delivery.status,
            attempt_count: delivery.attempt_count,
            attempts: delivery.attempts.clone(),
            next_attempt_at: if waiting { delivery.due_at } else { None },
            created_at: delivery.created_at,
            updated_at: delivery.updated_at,
        }
    }
}

fn description(value: Option<&str>) -> ApiResult<Option<String>> {
    validation::optional_one_line_text("description", value, MAX_DESCRIPTION_LENGTH)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhookEndpoint {
    /// `https://…` on a public address (docs/webhooks.md).
    pub url: String,
    pub description: Option<String>,
    /// At least one event type of docs/events.md, or `user.deactivated` (suspended or
    /// deleted) or `training_assignment.overdue` (docs/webhooks.md).
    pub event_types: Vec<String>,
    /// `true` unless given.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub enabled: Option<bool>,
}

/// A URL as registered: its form (`webhook_url`), then its host name's addresses.
async fn destination(text: &str, policy: DestinationPolicy) -> ApiResult<String> {
    let url = webhooks::webhook_url(text, policy)?;
    webhook_client::check_destination(&url, policy).await?;
    Ok(url.to_string())
}

impl CreateWebhookEndpoint {
    pub async fn parse(self, policy: DestinationPolicy) -> ApiResult<NewWebhookEndpoint> {
        Ok(NewWebhookEndpoint {
            url: destination(&self.url, policy).await?,
            description: description(self.description.as_deref())?,
            event_types: webhooks::event_types(&self.event_types)?,
            enabled: self.enabled.unwrap_or(true),
        })
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhookEndpoint {
    #[serde(default, deserialize_with = "patch::not_null")]
    pub url: Option<String>,
    #[serde(default, deserialize_with = "patch::clearable")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "patch::not_null")]
    pub enabled: Option<bool>,
}

impl UpdateWebhookEndpoint {
    pub async fn parse(self, policy: DestinationPolicy) -> ApiResult<WebhookEndpointEdit> {
        let url = match &self.url {
            Some(text) => Some(destination(text, policy).await?),
            None => None,
        };
        Ok(WebhookEndpointEdit {
            url,
            description: self.description.map(|text| description(text.as_deref())).transpose()?,
            event_types: self
                .event_types
                .map(|types| webhooks::event_types(&types))
                .transpose()?,
            enabled: self.enabled,
        })
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateWebhookSecret {
    /// How long the current secret keeps signing beside the new one: 0 to 168 hours,
    /// 24 unless given.
    #[serde(default, deserialize_with = "patch::not_null")]
    pub expire_current_secret_in_hours: Option<u32>,
}

/// `POST /webhook-endpoints`. The permission is checked before the body's fields, as the
/// command would, so a caller without it learns nothing from validation errors.
pub async fn create(
    store: &Store,
    principal: &Principal,
    policy: DestinationPolicy,
    body: CreateWebhookEndpoint,
) -> ApiResult<WebhookEndpointWithSecret> {
    principal.require(Permission::WebhooksWrite)?;
    let issued = commands::create_endpoint(store, principal, body.parse(policy).await?).await?;
    Ok(WebhookEndpointWithSecret::of(issued, store.clock().now()))
}

/// `PATCH /webhook-endpoints/{id}`.
pub async fn update(
    store: &Store,
    principal: &Principal,
    policy: DestinationPolicy,
    id: &WebhookEndpointId,
    body: UpdateWebhookEndpoint,
) -> ApiResult<WebhookEndpointView> {
    principal.require(Permission::WebhooksWrite)?;
    let endpoint = commands::update_endpoint(store, principal, id, body.parse(policy).await?).await?;
    Ok(WebhookEndpointView::of(&endpoint, store.clock().now()))
}

/// `POST /webhook-endpoints/{id}/rotate-secret`.
pub async fn rotate_secret(
    store: &Store,
    principal: &Principal,
    id: &WebhookEndpointId,
    body: RotateWebhookSecret,
) -> ApiResult<WebhookEndpointWithSecret> {
    principal.require(Permission::WebhooksWrite)?;
    let hours = webhooks::overlap_hours(body.expire_current_secret_in_hours)?;
    let issued = commands::rotate_secret(store, principal, id, hours).await?;
    Ok(WebhookEndpointWithSecret::of(issued, store.clock().now()))
}

pub async fn get(store: &Store, principal: &Principal, id: &WebhookEndpointId) -> ApiResult<WebhookEndpointView> {
    let endpoint = commands::get_endpoint(store, principal, id).await?;
    Ok(WebhookEndpointView::of(&endpoint, store.clock().now()))
}

pub async fn list(
    store: &Store,
    principal: &Principal,
    page: &PageRequest,
) -> ApiResult<ListPage<WebhookEndpointView>> {
    let page = commands::list_endpoints(store, principal, page).await?;
    let now = store.clock().now();
    Ok(ListPage {
        data: page
            .data
            .iter()
            .map(|endpoint| WebhookEndpointView::of(endpoint, now))
            .collect(),
        next_cursor: page.next_cursor,
    })
}

pub async fn list_deliveries(
    store: &Store,
    principal: &Principal,
    id: &WebhookEndpointId,
    status: Option<DeliveryStatus>,
    page: &PageRequest,
) -> ApiResult<ListPage<WebhookDeliveryView>> {
    let page = commands::list_deliveries(store, principal, id, status, page).await?;
    Ok(ListPage {
        data: page.data.iter().map(WebhookDeliveryView::of).collect(),
        next_cursor: page.next_cursor,
    })
}
