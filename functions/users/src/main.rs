// mimalloc: at 100,000 rows glibc's malloc took a third of the export's CPU (README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use raptor_shared::app::{ExportingApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // No transparent huge pages for mimalloc's arenas (functions/training-assignments/src/main.rs).
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    serve_with(ExportingApp::from_env(), users::handle).await
}
