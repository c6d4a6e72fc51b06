// mimalloc: at 100,000 rows glibc's malloc took a third of the export's CPU (README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use lambda_runtime::{Error, LambdaEvent, service_fn};
use raptor_shared::app::{self, AuditApp};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    // No transparent huge pages for mimalloc's arenas (functions/training-assignments/src/main.rs).
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    app::init_tracing();
    let audit: &'static AuditApp = Box::leak(Box::new(AuditApp::from_env().await?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        evidence_package_builder::handle(audit, event)
    }))
    .await
}
