use raptor_shared::app::{AuditApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve_with(AuditApp::from_env(), audit_events::handle).await
}
