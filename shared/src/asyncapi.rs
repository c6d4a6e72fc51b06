//! The AsyncAPI 3.0 description of the domain events (`docs/asyncapi.json`): one message
//! per event type of `model::events`, its payload the event's payload schema. Today the
//! events are read from `GET /audit-events` (the payload is an audit event's `summary`);
//! the webhook deliveries of the LMS issue publish the same messages.
//! `cargo run -p raptor-shared --bin asyncapi > docs/asyncapi.json`; a test fails when the
//! committed file and the code differ, and `scripts/test` validates it against the
//! official AsyncAPI 3.0 JSON schema.

use serde_json::{Map, Value, json};

use crate::model::events::catalogue;

/// The one channel the events are published on today.
const CHANNEL: &str = "auditEvents";

pub fn document() -> Value {
    let mut messages = Map::new();
    let mut channel_messages = Map::new();
    let mut operation_messages = Vec::new();
    let mut schemas = Map::new();
    for event in catalogue() {
        let action = event.action;
        if let Value::Object(components) = event.components {
            schemas.extend(components);
        }
        let summary = event.payload["description"].as_str().unwrap_or(action).to_string();
        messages.insert(
            action.to_string(),
            json!({
                "name": action,
                "title": action,
                "summary": summary,
                "contentType": "application/json",
                "payload": event.payload,
                "x-payload-version": event.version,
                "x-target-type": event.target_type,
            }),
        );
        channel_messages.insert(
            action.to_string(),
            json!({ "$ref": format!("#/components/messages/{action}") }),
        );
        operation_messages.push(json!({ "$ref": format!("#/channels/{CHANNEL}/messages/{action}") }));
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Raptor Comply domain events",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Every change Raptor Comply records is one domain event, written in the same \
                transaction as the change. A message's name is the event type (an audit event's \
                `action`), its payload the event's payload (an audit event's `summary`), and \
                `x-payload-version` the payload's version (docs/events.md).",
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": "/audit-events",
                "title": "Audit events",
                "description": "The organization's audit trail, newest first, read with `GET /audit-events` \
                    (the REST API's OpenAPI document describes the envelope).",
                "messages": channel_messages,
            }
        },
        "operations": {
            "receiveAuditEvents": {
                "action": "receive",
                "channel": { "$ref": format!("#/channels/{CHANNEL}") },
                "summary": "Read the events an organization's changes recorded.",
                "messages": operation_messages,
            }
        },
        "components": {
            "schemas": schemas,
            "messages": messages,
        }
    })
}

pub fn document_json() -> String {
    let mut text = serde_json::to_string_pretty(&document()).unwrap_or_default();
    text.push('\n');
    text
}
