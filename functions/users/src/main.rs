// mimalloc: at 100,000 rows glibc's malloc took a third of the export's CPU (README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use raptor_shared::app::{ExportingApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    serve_with(ExportingApp::from_env(), users::handle).await
}
