use raptor_shared::app::{InvitationsApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve_with(InvitationsApp::from_env(), invitations::handle).await
}
