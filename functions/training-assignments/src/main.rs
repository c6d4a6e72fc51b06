use raptor_shared::app::{TrainingApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve_with(TrainingApp::from_env(), training_assignments::handle).await
}
