use lambda_runtime::{Error, LambdaEvent, service_fn};
use raptor_shared::app::{self, WebhooksApp};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    app::init_tracing();
    let webhooks: &'static WebhooksApp = Box::leak(Box::new(WebhooksApp::from_env().await?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        webhook_sender::handle(webhooks, event.payload)
    }))
    .await
}
