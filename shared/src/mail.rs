//! Sending email through SES: the one other service we write to. It sits beside the store
//! (operations call it; it knows nothing of them).

use aws_sdk_ses::types::{Body, Content, Destination, Message};

use crate::error::{ApiError, ApiResult};
use crate::model::invitation_email::InvitationEmail;

/// The SES client and the verified address invitations come from; built once per cold start.
#[derive(Clone, Debug)]
pub struct Mailer {
    client: aws_sdk_ses::Client,
    sender: String,
}

impl Mailer {
    pub fn new(client: aws_sdk_ses::Client, sender: impl Into<String>) -> Self {
        Mailer {
            client,
            sender: sender.into(),
        }
    }

    pub fn sender(&self) -> &str {
        &self.sender
    }

    /// Sends one message to one address. A refusal or failure of SES is `Unavailable`: the
    /// caller has changed nothing yet, and says so.
    pub async fn send(&self, to: &str, email: &InvitationEmail) -> ApiResult<()> {
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build();
        let message = Message::builder()
            .subject(text(&email.subject).map_err(ApiError::internal)?)
            .body(
                Body::builder()
                    .text(text(&email.text).map_err(ApiError::internal)?)
                    .html(text(&email.html).map_err(ApiError::internal)?)
                    .build(),
            )
            .build();
        self.client
            .send_email()
            .source(&self.sender)
            .destination(Destination::builder().to_addresses(to).build())
            .message(message)
            .send()
            .await
            .map(|_| ())
            .map_err(|error| {
                ApiError::unavailable(
                    "the email service did not send the invitation email; nothing was saved, try again later",
                    "SES",
                    aws_sdk_ses::error::DisplayErrorContext(&error),
                )
            })
    }
}
