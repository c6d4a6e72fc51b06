//! What a Lambda function holds for its whole life: built once per cold start.

use std::future::Future;
use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use lambda_http::{Body, Request, Response, service_fn};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{Format, Json, JsonFields};

use crate::error::ApiError;
use crate::export_files::ExportBucket;
use crate::mail::Mailer;
use crate::model::invitations::{DEFAULT_DAILY_EMAIL_CAP, DEFAULT_EMAILS_PER_SECOND};
use crate::model::training_assignments::{DEFAULT_RENEWAL_WINDOW_DAYS, MAX_RENEWAL_WINDOW_DAYS};
use crate::model::webhooks::DestinationPolicy;
use crate::operations::invitations::{InvitationSettings, Outbox};
use crate::rest::exports::{DEFAULT_INLINE_LIMIT_BYTES, DEFAULT_TIME_BUDGET, ExportSettings};
use crate::signing::{AuditSigner, SIGNING_KEY_VARIABLE};
use crate::store::Store;
use crate::webhook_client::WebhookClient;
use crate::webhook_queue::WebhookQueue;

pub const TABLE_NAME_VARIABLE: &str = "TABLE_NAME";
pub const WARM_UP_VARIABLE: &str = "RAPTOR_INIT_WARM_UP";
/// Well inside Lambda's 10 s init limit, and long enough for a TLS handshake at 128 MB.
const WARM_UP_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Clone, Debug)]
pub struct App {
    pub store: Store,
    /// Days before expiry that a completion reads `expiring` (`RAPTOR_RENEWAL_WINDOW_DAYS`).
    pub renewal_window_days: u32,
}

impl App {
    pub fn new(store: Store) -> Self {
        App {
            store,
            renewal_window_days: DEFAULT_RENEWAL_WINDOW_DAYS,
        }
    }

    /// Loads AWS configuration from the environment; `AWS_ENDPOINT_URL` points the same
    /// binary at the local emulator or at AWS.
    pub async fn from_env() -> Result<App, ApiError> {
        let app = App::from_config(&sdk_config_loader().load().await)?;
        app.warm_up().await;
        Ok(app)
    }

    /// Opens the DynamoDB connection during init, where Lambda gives full CPU and no
    /// request waits (`docs/performance.md`). It never fails the function: an unreachable
    /// DynamoDB is a warning, and the first request connects as it would have.
    /// `RAPTOR_INIT_WARM_UP=off` skips it (the benchmark compares both).
    pub async fn warm_up(&self) -> bool {
        if std::env::var(WARM_UP_VARIABLE).is_ok_and(|value| value == "off") {
            return false;
        }
        // The outer timeout is a backstop; the call's own operation timeout ends it first.
        let backstop = WARM_UP_TIMEOUT + Duration::from_millis(100);
        match tokio::time::timeout(backstop, self.store.warm_up(WARM_UP_TIMEOUT)).await {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(reason = %error, "DynamoDB warm-up failed; the first request connects");
                false
            }
            Err(_) => {
                tracing::warn!(
                    timeoutMs = WARM_UP_TIMEOUT.as_millis() as u64,
                    "DynamoDB warm-up timed out; the first request connects"
                );
                false
            }
        }
    }

    fn from_config(config: &aws_config::SdkConfig) -> Result<App, ApiError> {
        let table = required_variable(TABLE_NAME_VARIABLE)?;
        Ok(App {
            renewal_window_days: renewal_window_days()?,
            ..App::new(Store::new(aws_sdk_dynamodb::Client::new(config), table))
        })
    }
}

/// The five roots Amazon Trust Services publishes for custom trust stores (Amazon Root CA
/// 1–4, Starfield Services Root CA G2): every AWS endpoint's certificate chains to one.
static AWS_TRUST_ROOTS: &[u8] = include_bytes!("../certs/amazon-trust-services-roots.pem");

/// The SDK's HTTPS client (rustls with aws-lc, as the default one), trusting the embedded
/// AWS roots. The default client parses the system's whole root store (about 140
/// certificates, from as many files on some systems) once for every client it builds,
/// which was most of a function's init. An `https://` endpoint override, which may use a
/// private CA, keeps the system store.
fn https_client() -> SharedHttpClient {
    let trust = match std::env::var("AWS_ENDPOINT_URL") {
        Ok(url) if url.starts_with("https://") => TrustStore::default(),
        _ => TrustStore::empty().with_pem_certificate(AWS_TRUST_ROOTS),
    };
    let tls = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("the embedded trust store is valid PEM");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https()
}

/// The AWS configuration every function loads once per cold start. On Lambda the region
/// and the credentials are environment variables; naming their providers skips building
/// the default chains (web identity with its own STS client, ECS, IMDS), which the
/// environment provider would have answered first anyway. Without those variables (a
/// developer's profile), the default chains apply as usual.
pub fn sdk_config_loader() -> aws_config::ConfigLoader {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .retry_config(retry_policy())
        .timeout_config(call_timeouts());
    if let Ok(region) = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")) {
        loader = loader.region(Region::new(region));
    }
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() && std::env::var_os("AWS_SECRET_ACCESS_KEY").is_some() {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    loader
}

/// Attempts of one AWS call, in all (the first and three retries).
pub const CALL_ATTEMPTS: u32 = 4;
/// One attempt of a DynamoDB or SES call may take this long: their calls answer in
/// milliseconds, so an attempt this slow is a stalled connection, which a new attempt
/// on another connection gets past.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// A call with all its attempts and pauses ends by then: a request makes a few calls one
/// after another, and most functions have 10 s (`infra/template.yaml`), so two calls
/// that meet the worst still leave time to answer `503`.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(4);
/// S3's attempts carry 8 MB export parts; the export function has 29 s.
pub const S3_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
pub const S3_CALL_TIMEOUT: Duration = Duration::from_secs(16);

/// The SDK's standard retries (throttling, 5xx, timeouts, broken connections) with full
/// jitter from 50 ms doubling to at most 1 s: a DynamoDB throttle clears in tens of
/// milliseconds, and the SDK's default first pause (1 s) would spend a function's time.
/// Its retry quota stops retrying when most calls fail, so a dependency that is down is
/// answered `503` fast instead of multiplying the load on it.
pub fn retry_policy() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(CALL_ATTEMPTS)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
}

pub fn call_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(CALL_TIMEOUT)
        .build()
}

pub const RENEWAL_WINDOW_VARIABLE: &str = "RAPTOR_RENEWAL_WINDOW_DAYS";

/// How many days before a completion expires it is renewed and reads `expiring`.
pub fn renewal_window_days() -> Result<u32, ApiError> {
    match std::env::var(RENEWAL_WINDOW_VARIABLE) {
        Err(_) => Ok(DEFAULT_RENEWAL_WINDOW_DAYS),
        Ok(text) => text
            .parse()
            .ok()
            .filter(|days| (1..=MAX_RENEWAL_WINDOW_DAYS).contains(days))
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "{RENEWAL_WINDOW_VARIABLE} must be a whole number of days from 1 to {MAX_RENEWAL_WINDOW_DAYS}"
                ))
            }),
    }
}

fn required_variable(name: &str) -> Result<String, ApiError> {
    std::env::var(name).map_err(|_| ApiError::internal(format!("{name} is not set")))
}

pub const EXPORT_BUCKET_VARIABLE: &str = "EXPORT_BUCKET";

/// The state of a function that answers exports (training assignments, users): the
/// store, and the S3 bucket that takes exports too large for one response
/// (`rest::exports`).
#[derive(Debug)]
pub struct ExportingApp {
    pub app: App,
    /// `None` where `EXPORT_BUCKET` is unset: a too-large export is then a 500 naming it.
    pub exports: Option<ExportBucket>,
    /// Encoded bytes an export answers with before it goes to S3.
    pub inline_export_limit_bytes: usize,
    /// How long an export may run before it answers 503.
    pub export_time_budget: std::time::Duration,
}

impl ExportingApp {
    pub fn new(app: App, exports: Option<ExportBucket>) -> Self {
        ExportingApp {
            app,
            exports,
            inline_export_limit_bytes: DEFAULT_INLINE_LIMIT_BYTES,
            export_time_budget: DEFAULT_TIME_BUDGET,
        }
    }

    /// How this function's exports are made: its bucket, inline limit and time budget.
    pub fn export_settings(&self) -> ExportSettings<'_> {
        ExportSettings {
            bucket: self.exports.as_ref(),
            inline_limit_bytes: self.inline_export_limit_bytes,
            time_budget: self.export_time_budget,
        }
    }

    pub async fn from_env() -> Result<ExportingApp, ApiError> {
        let config = sdk_config_loader().load().await;
        let app = App::from_config(&config)?;
        app.warm_up().await;
        let exports = std::env::var(EXPORT_BUCKET_VARIABLE)
            .ok()
            .map(|bucket| ExportBucket::new(s3_client(&config), bucket));
        Ok(ExportingApp::new(app, exports))
    }
}

/// S3 by path (`http://host/bucket/key`) where the endpoint is overridden (the local
/// emulator has no per-bucket host names); by virtual host in AWS.
pub fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    let local = std::env::var_os("AWS_ENDPOINT_URL").is_some();
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(config)
            .force_path_style(local)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(S3_ATTEMPT_TIMEOUT)
                    .operation_timeout(S3_CALL_TIMEOUT)
                    .build(),
            )
            .build(),
    )
}

pub const INVITATION_SENDER_VARIABLE: &str = "INVITATION_SENDER";
pub const INVITATION_ACCEPT_URL_VARIABLE: &str = "INVITATION_ACCEPT_URL";
pub const INVITATION_DAILY_EMAIL_CAP_VARIABLE: &str = "INVITATION_DAILY_EMAIL_CAP";
pub const INVITATION_EMAILS_PER_SECOND_VARIABLE: &str = "INVITATION_EMAILS_PER_SECOND";

/// The audit functions' clients (the API's audit-events function, the digest job, the
/// evidence package builder): the store; KMS, whose key signs the digests and the
/// packages' manifests and gives the public key (`AUDIT_SIGNING_KEY_ID`); and the exports
/// bucket the packages are kept in.
#[derive(Debug)]
pub struct AuditApp {
    pub app: App,
    pub signer: AuditSigner,
    /// `None` where `EXPORT_BUCKET` is unset (the digest job needs none).
    pub exports: Option<ExportBucket>,
}

impl AuditApp {
    pub async fn from_env() -> Result<AuditApp, ApiError> {
        let config = sdk_config_loader().load().await;
        let app = App::from_config(&config)?;
        app.warm_up().await;
        let exports = std::env::var(EXPORT_BUCKET_VARIABLE)
            .ok()
            .map(|bucket| ExportBucket::new(s3_client(&config), bucket));
        Ok(AuditApp {
            app,
            signer: AuditSigner::new(
                aws_sdk_kms::Client::new(&config),
                required_variable(SIGNING_KEY_VARIABLE)?,
            ),
            exports,
        })
    }
}

/// The invitations function's clients and settings: the store, and SES to send from the
/// configured sender.
#[derive(Debug)]
pub struct InvitationsApp {
    pub app: App,
    pub mailer: Mailer,
    pub settings: InvitationSettings,
}

impl InvitationsApp {
    pub async fn from_env() -> Result<InvitationsApp, ApiError> {
        let config = sdk_config_loader().load().await;
        let daily_email_cap = match std::env::var(INVITATION_DAILY_EMAIL_CAP_VARIABLE) {
            Ok(text) => text.parse().map_err(|_| {
                ApiError::internal(format!("{INVITATION_DAILY_EMAIL_CAP_VARIABLE} must be a whole number"))
            })?,
            Err(_) => DEFAULT_DAILY_EMAIL_CAP,
        };
        let emails_per_second = match std::env::var(INVITATION_EMAILS_PER_SECOND_VARIABLE) {
            Ok(text) => text.parse().ok().filter(|rate| *rate > 0).ok_or_else(|| {
                ApiError::internal(format!(
                    "{INVITATION_EMAILS_PER_SECOND_VARIABLE} must be a whole number above 0"
                ))
            })?,
            Err(_) => DEFAULT_EMAILS_PER_SECOND,
        };
        let app = App::from_config(&config)?;
        app.warm_up().await;
        Ok(InvitationsApp {
            app,
            mailer: Mailer::new(
                aws_sdk_ses::Client::new(&config),
                required_variable(INVITATION_SENDER_VARIABLE)?,
            ),
            settings: InvitationSettings {
                accept_url: required_variable(INVITATION_ACCEPT_URL_VARIABLE)?,
                daily_email_cap,
                emails_per_second,
            },
        })
    }

    pub fn outbox(&self) -> Outbox<'_> {
        Outbox {
            mailer: &self.mailer,
            settings: &self.settings,
        }
    }
}

pub const WEBHOOK_QUEUE_URL_VARIABLE: &str = "WEBHOOK_QUEUE_URL";
/// `true` only in the local run and the tests: deliveries may go to loopback addresses
/// (`model::webhooks::DestinationPolicy`). The template never sets it.
pub const WEBHOOK_ALLOW_LOOPBACK_VARIABLE: &str = "WEBHOOK_ALLOW_LOOPBACK";

/// The webhook functions' clients (the endpoints' API, the dispatcher, the sender): the
/// store, the delivery queue, where deliveries may go, and the client that sends them.
#[derive(Debug)]
pub struct WebhooksApp {
    pub app: App,
    pub queue: WebhookQueue,
    policy: DestinationPolicy,
    attempt_timeout: Duration,
    /// Built on first use: only the sender sends, and the client loads the platform's
    /// trust store, which the other webhook functions' cold starts need not pay for.
    client: std::sync::OnceLock<WebhookClient>,
}

impl WebhooksApp {
    pub fn new(app: App, queue: WebhookQueue, policy: DestinationPolicy, attempt_timeout: Duration) -> Self {
        WebhooksApp {
            app,
            queue,
            policy,
            attempt_timeout,
            client: std::sync::OnceLock::new(),
        }
    }

    /// The client that sends deliveries, built the first time it is asked for.
    pub fn client(&self) -> Result<&WebhookClient, ApiError> {
        if let Some(client) = self.client.get() {
            return Ok(client);
        }
        let built = WebhookClient::new(self.policy, self.attempt_timeout)?;
        Ok(self.client.get_or_init(|| built))
    }

    pub async fn from_env() -> Result<WebhooksApp, ApiError> {
        let config = sdk_config_loader().load().await;
        let app = App::from_config(&config)?;
        app.warm_up().await;
        let policy = match std::env::var(WEBHOOK_ALLOW_LOOPBACK_VARIABLE).as_deref() {
            Ok("true") => DestinationPolicy::LOCAL,
            Ok("false") | Err(_) => DestinationPolicy::DEPLOYED,
            Ok(_) => {
                return Err(ApiError::internal(format!(
                    "{WEBHOOK_ALLOW_LOOPBACK_VARIABLE} must be true or false"
                )));
            }
        };
        let queue = WebhookQueue::new(
            aws_sdk_sqs::Client::new(&config),
            required_variable(WEBHOOK_QUEUE_URL_VARIABLE)?,
        );
        Ok(WebhooksApp::new(
            app,
            queue,
            policy,
            Duration::from_secs(crate::model::webhooks::ATTEMPT_TIMEOUT_SECONDS),
        ))
    }

    pub fn policy(&self) -> DestinationPolicy {
        self.policy
    }
}

/// Structured JSON logs for CloudWatch; `RUST_LOG` sets the level.
pub fn init_tracing() {
    let _ = json_logs(std::io::stdout).try_init();
}

/// One JSON object per line, one key per field (Logs Insights keeps only one of two).
fn json_logs<W>(writer: W) -> tracing_subscriber::fmt::SubscriberBuilder<JsonFields, Format<Json, ()>, EnvFilter, W>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        // The runtime's span carries Lambda's `requestId`, which the API access log has too.
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .with_target(false)
        .with_writer(writer)
}

/// Runs a function's handler on the Lambda runtime: tracing and clients are set up once,
/// then every invocation borrows them. Expected failures are already HTTP responses, so
/// the runtime only ever sees `Ok`.
pub async fn serve<Handler, Outcome>(handler: Handler) -> Result<(), lambda_http::Error>
where
    Handler: Fn(&'static App, Request) -> Outcome + Sync,
    Outcome: Future<Output = Response<Body>> + Send,
{
    serve_with(App::from_env(), handler).await
}

/// `serve`, for a function whose state is more than the store (built by `build`).
pub async fn serve_with<State, Build, Handler, Outcome>(
    build: Build,
    handler: Handler,
) -> Result<(), lambda_http::Error>
where
    State: Sync + 'static,
    Build: Future<Output = Result<State, ApiError>>,
    Handler: Fn(&'static State, Request) -> Outcome + Sync,
    Outcome: Future<Output = Response<Body>> + Send,
{
    init_tracing();
    // The state lives as long as the process: leaking it gives handlers a plain `&'static`.
    let app: &'static State = Box::leak(Box::new(build.await?));
    let handler = &handler;
    lambda_http::run(service_fn(move |request: Request| async move {
        let remaining = time_left(&request);
        Ok::<_, std::convert::Infallible>(answer_within(remaining, handler(app, request)).await)
    }))
    .await
}

/// Time kept back from an invocation's deadline to answer `503` before Lambda cuts the
/// function off (which the caller would see as a bare `500` from API Gateway).
const ANSWER_MARGIN: Duration = Duration::from_millis(500);

/// What is left of the invocation's time, less the margin (`None` outside Lambda).
fn time_left(request: &Request) -> Option<Duration> {
    use lambda_http::RequestExt;
    let deadline = Duration::from_millis(request.lambda_context_ref()?.deadline);
    // The runtime's deadline is wall-clock time, not the product's clock.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    Some(deadline.checked_sub(now)?.saturating_sub(ANSWER_MARGIN))
}

/// The handler's response, or `503` with `Retry-After` once `remaining` runs out: every
/// write is one transaction, so stopping between two awaits leaves nothing half made.
async fn answer_within(remaining: Option<Duration>, response: impl Future<Output = Response<Body>>) -> Response<Body> {
    let Some(remaining) = remaining else {
        return response.await;
    };
    match tokio::time::timeout(remaining, response).await {
        Ok(response) => response,
        Err(_) => crate::http::respond(Err(ApiError::unavailable(
            "the request did not finish in time; nothing was left half done, retry in a moment",
            "AWS",
            "the invocation's deadline came before the answer",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::error::ApiError;
    use crate::http::respond;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("log buffer").extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_request_that_outlasts_its_time_is_answered_503_before_the_deadline() {
        let stalled = answer_within(Some(Duration::from_millis(10)), std::future::pending()).await;
        assert_eq!(stalled.status(), 503);
        assert_eq!(stalled.headers()["retry-after"], "1");
        let quick = answer_within(Some(Duration::from_secs(60)), async { Response::new(Body::Empty) }).await;
        assert_eq!(quick.status(), 200);
        let outside_lambda = answer_within(None, async { Response::new(Body::Empty) }).await;
        assert_eq!(outside_lambda.status(), 200);
    }

    #[test]
    fn a_refused_request_logs_one_json_line_with_one_key_per_field() {
        let captured = Captured::default();
        let writer = captured.clone();
        let subscriber = json_logs(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            respond(Err(ApiError::validation(
                "email",
                "`email` must be a valid email address",
            )));
        });
        let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line = output.lines().next().expect("one log line");
        assert_eq!(line.matches("\"message\":").count(), 1, "{line}");
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(event["level"], "WARN");
        assert_eq!(event["fields"]["message"], "request refused");
        assert_eq!(event["fields"]["code"], "validation_error");
        assert_eq!(event["fields"]["reason"], "`email` must be a valid email address");
    }
}
