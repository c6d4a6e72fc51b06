//! The events of webhook endpoints (`webhook_endpoint.*`). No payload holds a secret.

use serde::Serialize;

use super::{FlagChange, OptionalTextChange, TextChange};
use crate::ids::EventId;
use crate::model::webhooks::WebhookEndpoint;
use crate::time::Timestamp;

/// An endpoint was registered.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointCreated {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<String>,
    pub enabled: bool,
}

impl WebhookEndpointCreated {
    pub fn of(endpoint: &WebhookEndpoint) -> Self {
        WebhookEndpointCreated {
            url: endpoint.url.clone(),
            description: endpoint.description.clone(),
            event_types: endpoint.event_types.clone(),
            enabled: endpoint.enabled,
        }
    }
}

/// An endpoint's fields changed: `changes` holds only the changed ones.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointUpdated {
    pub changes: WebhookEndpointChanges,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventTypesChange {
    pub from: Vec<String>,
    pub to: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<TextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<OptionalTextChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_types: Option<EventTypesChange>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<FlagChange>,
}

impl WebhookEndpointChanges {
    pub fn between(before: &WebhookEndpoint, after: &WebhookEndpoint) -> Self {
        WebhookEndpointChanges {
            url: TextChange::of(&before.url, &after.url),
            description: OptionalTextChange::of(&before.description, &after.description),
            event_types: (before.event_types != after.event_types).then(|| EventTypesChange {
                from: before.event_types.clone(),
                to: after.event_types.clone(),
            }),
            enabled: FlagChange::of(&before.enabled, &after.enabled),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == WebhookEndpointChanges::default()
    }
}

/// An endpoint was deleted: no more deliveries to it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookEndpointDeleted {
    pub url: String,
}

/// An endpoint's signing secret was replaced; the one replaced signs beside it until
/// `previousSecretExpiresAt`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecretRotated {
    pub previous_secret_expires_at: Timestamp,
}

/// A delivery of an event was queued again on request.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookDeliveryResent {
    pub event_id: EventId,
    pub event_type: String,
}
