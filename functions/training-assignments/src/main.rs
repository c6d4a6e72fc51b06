// mimalloc: at 100,000 rows glibc's malloc took a third of the export's CPU (README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use raptor_shared::app::{ExportingApp, serve_with};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    // mimalloc madvises its arenas for transparent huge pages: each first touch then
    // zeroes 2 MB. For a heap of tens of MB that serves one request at a time, that was a
    // fifth of an export's CPU and a third of its memory (README); a kernel without them
    // has nothing to turn off.
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    serve_with(ExportingApp::from_env(), training_assignments::handle).await
}
