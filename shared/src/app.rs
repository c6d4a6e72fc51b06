//! What a Lambda function holds for its whole life: built once per cold start.

use std::future::Future;

use aws_config::BehaviorVersion;
use lambda_http::{Body, Request, Response, service_fn};

use crate::error::ApiError;
use crate::store::Store;

pub const TABLE_NAME_VARIABLE: &str = "TABLE_NAME";

#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
}

impl App {
    pub fn new(store: Store) -> Self {
        App { store }
    }

    /// Loads AWS configuration from the environment; `AWS_ENDPOINT_URL` points the same
    /// binary at the local emulator or at AWS.
    pub async fn from_env() -> Result<App, ApiError> {
        let table = std::env::var(TABLE_NAME_VARIABLE)
            .map_err(|_| ApiError::internal(format!("{TABLE_NAME_VARIABLE} is not set")))?;
        let config = aws_config::load_defaults(BehaviorVersion::latest()).await;
        let client = aws_sdk_dynamodb::Client::new(&config);
        Ok(App::new(Store::new(client, table)))
    }
}

/// Structured JSON logs for CloudWatch; `RUST_LOG` sets the level.
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Runs a function's handler on the Lambda runtime: tracing and clients are set up once,
/// then every invocation borrows them. Expected failures are already HTTP responses, so
/// the runtime only ever sees `Ok`.
pub async fn serve<Handler, Outcome>(handler: Handler) -> Result<(), lambda_http::Error>
where
    Handler: Fn(&'static App, Request) -> Outcome + Sync,
    Outcome: Future<Output = Response<Body>> + Send,
{
    init_tracing();
    // The app lives as long as the process: leaking it gives handlers a plain `&'static`.
    let app: &'static App = Box::leak(Box::new(App::from_env().await?));
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, std::convert::Infallible>(handler(app, request).await)
    }))
    .await
}
