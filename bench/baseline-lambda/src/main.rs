//! The smallest Lambda the runtime allows: no AWS SDK, no tracing subscriber, no state.
//! scripts/bench measures every function's cold start against this one.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|_event: LambdaEvent<serde_json::Value>| async {
        Ok::<_, Error>(json!({"ok": true}))
    }))
    .await
}
