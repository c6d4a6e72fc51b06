//! The events the webhook functions are invoked with, as Lambda delivers them: the table's
//! stream (DynamoDB Streams records, `NEW_IMAGE`) for the dispatcher, and the delivery
//! queue (SQS records) for the sender. The local run and the tests build the same shapes
//! from the emulator's stream and queue (`scripts/local_event_sources.py`, `tests/`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::audit::AuditEvent;
use crate::store::audit::PAYLOAD_VERSION;
use crate::webhook_queue::DeliveryMessage;

/// What the dispatcher was invoked for.
#[derive(Debug)]
pub enum DispatcherInput {
    /// Stream records: the audit events among them (the event source's filter passes only
    /// inserted audit events; anything else is skipped here too).
    NewEvents(Vec<AuditEvent>),
    /// The schedule (any other payload): queue what is due.
    Sweep,
}

#[derive(Deserialize)]
struct StreamEvent {
    #[serde(rename = "Records")]
    records: Vec<StreamRecord>,
}

#[derive(Deserialize)]
struct StreamRecord {
    #[serde(rename = "eventName")]
    event_name: Option<String>,
    dynamodb: Option<StreamChange>,
}

#[derive(Deserialize)]
struct StreamChange {
    #[serde(rename = "NewImage")]
    new_image: Option<serde_dynamo::Item>,
}

impl DispatcherInput {
    pub fn of(event: Value) -> Result<DispatcherInput, String> {
        let is_stream = event.get("Records").and_then(Value::as_array).is_some_and(|records| {
            records
                .iter()
                .any(|record| record.get("eventSource").and_then(Value::as_str) == Some("aws:dynamodb"))
        });
        if !is_stream {
            return Ok(DispatcherInput::Sweep);
        }
        let stream: StreamEvent =
            serde_json::from_value(event).map_err(|error| format!("not a DynamoDB stream event: {error}"))?;
        let mut events = Vec::new();
        for record in stream.records {
            if record.event_name.as_deref() != Some("INSERT") {
                continue;
            }
            let Some(image) = record.dynamodb.and_then(|change| change.new_image) else {
                continue;
            };
            if !image.contains_key(PAYLOAD_VERSION) {
                continue;
            }
            let event: AuditEvent = serde_dynamo::from_item(image)
                .map_err(|error| format!("an audit event image did not read: {error}"))?;
            events.push(event);
        }
        Ok(DispatcherInput::NewEvents(events))
    }
}

/// One message of the sender's batch: its SQS id (to report it failed) and what it asks.
#[derive(Debug)]
pub struct QueuedDelivery {
    pub message_id: String,
    /// `Err` for a body that is not a delivery message (nothing to retry: it is dropped).
    pub message: Result<DeliveryMessage, String>,
}

#[derive(Deserialize)]
struct QueueEvent {
    /// None at all is an empty batch (`{}`, as a benchmark's or a warm-up's invocation).
    #[serde(rename = "Records", default)]
    records: Vec<QueueRecord>,
}

#[derive(Deserialize)]
struct QueueRecord {
    #[serde(rename = "messageId")]
    message_id: String,
    body: String,
}

pub fn queued_deliveries(event: Value) -> Result<Vec<QueuedDelivery>, String> {
    let queue: QueueEvent = serde_json::from_value(event).map_err(|error| format!("not an SQS event: {error}"))?;
    Ok(queue
        .records
        .into_iter()
        .map(|record| QueuedDelivery {
            message_id: record.message_id,
            message: serde_json::from_str(&record.body).map_err(|error| error.to_string()),
        })
        .collect())
}

/// The sender's answer: the messages to receive again (Lambda's `ReportBatchItemFailures`).
#[derive(Debug, Default, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

#[derive(Debug, Serialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}
