#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    raptor_shared::app::serve(training_assignments::handle).await
}
