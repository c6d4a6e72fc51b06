use raptor_shared::app::{ExportingApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve_with(ExportingApp::from_env(), users::handle).await
}
