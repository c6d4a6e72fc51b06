//! The webhook sender, fed the delivery queue: one signed attempt per message, recorded on
//! the delivery, all of a batch at once. An attempt that fails is not an error here (its
//! retry is due in the table, for the dispatcher's sweep); only a message the store could
//! not serve is reported back to the queue, which redelivers it and, after 5 receives,
//! keeps it in the dead-letter queue.

use lambda_runtime::Error;
use raptor_shared::app::WebhooksApp;
use raptor_shared::operations::webhooks;
use raptor_shared::webhook_events::{self, BatchItemFailure, BatchResponse};
use serde_json::Value;

pub async fn handle(app: &WebhooksApp, event: Value) -> Result<BatchResponse, Error> {
    let store = &app.app.store;
    let deliveries = webhook_events::queued_deliveries(event)?;
    let client = app.client()?;
    let attempts = deliveries.iter().map(|queued| async move {
        let message = match &queued.message {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(messageId = %queued.message_id, error = %error, "a queue message that is no delivery was dropped");
                return None;
            }
        };
        match Box::pin(webhooks::deliver(store, client, message)).await {
            Ok(outcome) => {
                tracing::info!(eventId = %message.event_id, endpointId = %message.endpoint_id, outcome = ?outcome, "webhook delivery");
                None
            }
            Err(error) => {
                tracing::warn!(eventId = %message.event_id, error = %error, "webhook delivery not attempted; the queue redelivers it");
                Some(BatchItemFailure {
                    item_identifier: queued.message_id.clone(),
                })
            }
        }
    });
    let failures = futures::future::join_all(attempts).await;
    Ok(BatchResponse {
        batch_item_failures: failures.into_iter().flatten().collect(),
    })
}
