use lambda_runtime::{Error, LambdaEvent, service_fn};
use raptor_shared::app::{self, App};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    app::init_tracing();
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        training_rules::handle(app, event.payload)
    }))
    .await
}
