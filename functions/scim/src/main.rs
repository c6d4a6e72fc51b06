#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    raptor_shared::app::serve(scim::handle).await
}
