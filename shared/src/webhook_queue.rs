//! The queue between the webhook dispatcher and the sender (SQS, with a dead-letter queue
//! for messages the sender keeps failing on). It sits beside the store: operations call it.

use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::ids::{EventId, OrgId, WebhookEndpointId};

/// One message: which delivery to attempt. The sender reads everything else (the event,
/// the endpoint, its secrets) from the table, so a message holds nothing secret and a
/// stale one does no harm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMessage {
    pub organization_id: OrgId,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
}

/// The SQS client and the queue's URL; built once per cold start.
#[derive(Clone, Debug)]
pub struct WebhookQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl WebhookQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        WebhookQueue {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Queues one delivery. A failure is `Unavailable`: the delivery stays due in the table
    /// and the dispatcher's sweep queues it again.
    pub async fn send(&self, message: &DeliveryMessage) -> ApiResult<()> {
        let body = serde_json::to_string(message).map_err(ApiError::internal)?;
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                ApiError::unavailable(
                    "the webhook queue did not take the delivery; it stays due and is queued again within minutes",
                    "SQS",
                    aws_sdk_sqs::error::DisplayErrorContext(&error),
                )
            })
    }
}
