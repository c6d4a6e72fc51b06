use raptor_shared::app::{WebhooksApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve_with(WebhooksApp::from_env(), webhooks::handle).await
}
