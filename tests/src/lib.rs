//! The test harness: each test gets its own organization in the local emulator, and
//! calls the API the way API Gateway does, with an HTTP API (v2) event through the real
//! handler of the function the route table names.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemInput;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_types::config_bag::ConfigBag;
use lambda_http::Body;
use raptor_shared::app::{App, AuditApp, ExportingApp, InvitationsApp, WebhooksApp};
use raptor_shared::clock::Clock;
use raptor_shared::export_files::ExportBucket;
use raptor_shared::ids::{OrgId, UserId};
use raptor_shared::mail::Mailer;
use raptor_shared::model::invitations::{DEFAULT_DAILY_EMAIL_CAP, DEFAULT_EMAILS_PER_SECOND};
use raptor_shared::model::organizations::{BootstrapOutcome, NewOrganization};
use raptor_shared::model::roles::{RoleRef, SystemRole};
use raptor_shared::model::secret_tokens::ExposeSecret;
use raptor_shared::model::webhooks::DestinationPolicy;
use raptor_shared::operations::invitations::InvitationSettings;
use raptor_shared::operations::{self, organizations};
use raptor_shared::routes::{self, Function};
use raptor_shared::signing::AuditSigner;
use raptor_shared::store::{self, Store, Transaction, table};
use raptor_shared::time::Timestamp;
use raptor_shared::webhook_queue::WebhookQueue;
use serde_json::{Value, json};

pub mod fault_proxy;
pub mod measure;
pub mod training_rules;
pub mod webhooks;
pub use fault_proxy::FaultProxy;

/// Counts DynamoDB operations (one per API call, retries included once), and keeps the
/// `Limit` of every Query, so a test can tell a bounded read from a whole-partition one,
/// whether each Query asked for a consistent read, and the key (PK, SK) of every item
/// written (put, updated or deleted, alone or in a transaction).
#[derive(Debug, Clone, Default)]
pub struct CallCounter(
    Arc<AtomicUsize>,
    Arc<Mutex<Vec<Option<i32>>>>,
    Arc<Mutex<Vec<bool>>>,
    Arc<Mutex<Vec<(String, String)>>>,
);

impl CallCounter {
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }

    /// The `Limit` of each Query since the last reset, in order.
    pub fn query_limits(&self) -> Vec<Option<i32>> {
        self.1.lock().expect("query log").clone()
    }

    /// Whether each Query since the last reset was strongly consistent, in order.
    pub fn query_consistency(&self) -> Vec<bool> {
        self.2.lock().expect("query log").clone()
    }

    /// The keys of the items written since the last reset, in order.
    pub fn written_keys(&self) -> Vec<(String, String)> {
        self.3.lock().expect("write log").clone()
    }

    pub fn reset(&self) {
        self.0.store(0, Ordering::SeqCst);
        self.1.lock().expect("query log").clear();
        self.2.lock().expect("query log").clear();
        self.3.lock().expect("write log").clear();
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        if let Some(query) = context.input().downcast_ref::<QueryInput>() {
            self.1.lock().expect("query log").push(query.limit);
            self.2
                .lock()
                .expect("query log")
                .push(query.consistent_read == Some(true));
        }
        let mut written = self.3.lock().expect("write log");
        if let Some(transaction) = context.input().downcast_ref::<TransactWriteItemsInput>() {
            for write in transaction.transact_items() {
                let item = write
                    .put()
                    .map(|put| put.item())
                    .or_else(|| write.update().map(|update| update.key()))
                    .or_else(|| write.delete().map(|delete| delete.key()));
                written.extend(item.map(key_of));
            }
        } else if let Some(put) = context.input().downcast_ref::<PutItemInput>() {
            written.extend(put.item().map(key_of));
        } else if let Some(update) = context.input().downcast_ref::<UpdateItemInput>() {
            written.extend(update.key().map(key_of));
        } else if let Some(delete) = context.input().downcast_ref::<DeleteItemInput>() {
            written.extend(delete.key().map(key_of));
        } else if let Some(batch) = context.input().downcast_ref::<BatchWriteItemInput>() {
            for requests in batch.request_items().into_iter().flat_map(|items| items.values()) {
                for request in requests {
                    let item = request
                        .put_request()
                        .map(|put| put.item())
                        .or_else(|| request.delete_request().map(|delete| delete.key()));
                    written.extend(item.map(key_of));
                }
            }
        }
        Ok(())
    }
}

fn key_of(item: &HashMap<String, AttributeValue>) -> (String, String) {
    let text = |name: &str| {
        item.get(name)
            .and_then(|value| value.as_s().ok())
            .cloned()
            .unwrap_or_default()
    };
    (text("PK"), text("SK"))
}

pub struct TestApi {
    pub app: App,
    /// The invitations function's state: the same store, SES in the emulator.
    pub invitations: InvitationsApp,
    /// The state of the functions that export (training assignments, users): the same
    /// store, an exports bucket of the test's own in the emulator's S3.
    pub exporting: ExportingApp,
    /// The audit-events function's state: the same store, a signing key in the emulator's KMS.
    pub audit: AuditApp,
    pub ses: aws_sdk_ses::Client,
    /// The emulator's S3, for a bucket of another name (a missing one).
    pub s3: aws_sdk_s3::Client,
    pub dynamo_calls: CallCounter,
    /// The webhook functions' state: the same store, a delivery queue of the test's own in
    /// the emulator's SQS, deliveries allowed to 127.0.0.1 (as in the local run) with a
    /// short attempt timeout (`WEBHOOK_ATTEMPT_TIMEOUT`).
    pub webhooks: WebhooksApp,
    pub sqs: aws_sdk_sqs::Client,
    pub streams: aws_sdk_dynamodbstreams::Client,
    /// The last stream record read, per shard (`webhooks::run_webhooks`).
    stream_positions: Mutex<HashMap<String, String>>,
}

/// The sender's attempt timeout in the tests (10 s deployed): a receiver that stalls
/// longer than this has not answered.
pub const WEBHOOK_ATTEMPT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// The emulator the test command started (`AWS_ENDPOINT_URL`), never anything else.
fn emulator_endpoint() -> String {
    let endpoint = std::env::var("AWS_ENDPOINT_URL")
        .expect("AWS_ENDPOINT_URL is not set: run the tests with scripts/test, which starts the emulator");
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "tests only ever talk to a local emulator, not {endpoint}"
    );
    endpoint
}

/// The verified sender of invitation emails in the emulator, and the accept page.
pub const INVITATION_SENDER: &str = "invitations@raptorcomply.test";
pub const ACCEPT_URL: &str = "https://app.raptorcomply.test/accept";

/// An organization made for one test, with its bootstrap admin.
pub struct TestOrg {
    pub id: OrgId,
    pub name: String,
    pub admin_id: UserId,
    pub admin_key: String,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub body: Value,
    pub headers: lambda_http::http::HeaderMap,
    /// The body's bytes as sent (a gzip export is not text).
    pub raw: Vec<u8>,
}

impl TestResponse {
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    #[track_caller]
    pub fn expect(self, status: u16) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        self.body
    }

    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.body);
        assert_eq!(self.error_code(), code, "unexpected error code; body: {}", self.body);
        assert!(
            self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "no message: {}",
            self.body
        );
        self.body
    }
}

pub const TABLE_VARIABLE: &str = "TABLE_NAME";

impl TestApi {
    /// A client to the emulator the test command started (`AWS_ENDPOINT_URL`), with the
    /// call counter installed, and a table of the test's own (no test sees another's items,
    /// and the emulator's partition reads stay as small as the test's data).
    pub async fn new() -> TestApi {
        TestApi::with_clock(Clock::system()).await
    }

    /// The API with the time held at `start`; `api.clock().set(…)` moves it for every
    /// function of the test (tests of overdue, renewals and standing).
    pub async fn new_at(start: Timestamp) -> TestApi {
        TestApi::with_clock(Clock::fixed(start)).await
    }

    pub fn clock(&self) -> &Clock {
        self.app.store.clock()
    }

    /// The API with every DynamoDB, SES and S3 call going through `proxy`, with the
    /// functions' own retry policy (`app::retry_policy`) but no call timeouts: the
    /// emulator, shared by a run's parallel tests, can take seconds where DynamoDB takes
    /// milliseconds, and a test must not fail on that.
    pub async fn through(proxy: &FaultProxy) -> TestApi {
        TestApi::build(Clock::system(), Some((proxy.url(), None))).await
    }

    /// `through`, with the functions' own timeouts too (`app::call_timeouts`): for the
    /// tests of a stalled call.
    pub async fn through_with_timeouts(proxy: &FaultProxy) -> TestApi {
        let timeouts = raptor_shared::app::call_timeouts();
        TestApi::build(Clock::system(), Some((proxy.url(), Some(timeouts)))).await
    }

    /// The emulator's address (`host:port`), for a proxy in front of it.
    pub fn emulator_address() -> String {
        emulator_endpoint()
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string()
    }

    async fn with_clock(clock: Clock) -> TestApi {
        TestApi::build(clock, None).await
    }

    async fn build(clock: Clock, proxy: Option<(&str, Option<TimeoutConfig>)>) -> TestApi {
        let prefix = std::env::var(TABLE_VARIABLE).unwrap_or_else(|_| "raptor-comply-test".into());
        let table_name = format!("{prefix}-{}", UserId::new().as_str().trim_start_matches(UserId::PREFIX));
        // The functions' retries everywhere. Their timeouts only where a test asks: the
        // emulator, shared by the parallel tests of one run, can take longer than DynamoDB
        // ever does, and a timed-out write retried against it (it ignores
        // `ClientRequestToken`) would fail its own condition.
        let loader = aws_config::defaults(BehaviorVersion::latest()).retry_config(raptor_shared::app::retry_policy());
        let config = match proxy {
            Some((url, Some(timeouts))) => loader.endpoint_url(url).timeout_config(timeouts),
            Some((url, None)) => loader.endpoint_url(url),
            None => loader.endpoint_url(emulator_endpoint()),
        }
        .load()
        .await;
        let dynamo_calls = CallCounter::default();
        let dynamo_config = aws_sdk_dynamodb::config::Builder::from(&config)
            .interceptor(dynamo_calls.clone())
            .build();
        let store = Store::new(aws_sdk_dynamodb::Client::from_conf(dynamo_config), table_name).with_clock(clock);
        table::ensure_table(&store).await.expect("create the test table");
        let ses = aws_sdk_ses::Client::new(&config);
        ses.verify_email_identity()
            .email_address(INVITATION_SENDER)
            .send()
            .await
            .expect("verify the invitation sender in the emulator");
        let app = App::new(store);
        let s3 = raptor_shared::app::s3_client(&config);
        let bucket = format!("exports-{}", app.store.table().to_ascii_lowercase());
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create the test's exports bucket");
        // The key that signs the audit digests: one per test API, in the emulator's KMS.
        let kms = aws_sdk_kms::Client::new(&config);
        let key = kms
            .create_key()
            .key_spec(aws_sdk_kms::types::KeySpec::EccNistP256)
            .key_usage(aws_sdk_kms::types::KeyUsageType::SignVerify)
            .send()
            .await
            .expect("create the audit signing key in the emulator");
        let key_id = key.key_metadata.expect("key metadata").key_id;
        let sqs = aws_sdk_sqs::Client::new(&config);
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("webhook-deliveries-{}", app.store.table()))
            .send()
            .await
            .expect("create the test's webhook delivery queue")
            .queue_url
            .expect("a queue url");
        let webhooks = WebhooksApp::new(
            app.clone(),
            WebhookQueue::new(sqs.clone(), queue_url),
            DestinationPolicy::LOCAL,
            WEBHOOK_ATTEMPT_TIMEOUT,
        );
        TestApi {
            webhooks,
            sqs,
            streams: aws_sdk_dynamodbstreams::Client::new(&config),
            stream_positions: Mutex::default(),
            audit: AuditApp {
                app: app.clone(),
                signer: AuditSigner::new(kms, key_id),
                exports: Some(ExportBucket::new(s3.clone(), bucket.clone())),
            },
            exporting: ExportingApp::new(app.clone(), Some(ExportBucket::new(s3.clone(), bucket))),
            invitations: InvitationsApp {
                app: app.clone(),
                mailer: Mailer::new(ses.clone(), INVITATION_SENDER),
                settings: InvitationSettings {
                    accept_url: ACCEPT_URL.into(),
                    daily_email_cap: DEFAULT_DAILY_EMAIL_CAP,
                    emails_per_second: DEFAULT_EMAILS_PER_SECOND,
                },
            },
            app,
            ses,
            s3,
            dynamo_calls,
        }
    }

    /// Invitations limited to `cap` emails a day per organization.
    pub fn with_daily_email_cap(mut self, cap: u64) -> TestApi {
        self.invitations.settings.daily_email_cap = cap;
        self
    }

    /// Exports larger than `bytes` go to S3 (the function's default is 4 MB).
    pub fn with_inline_export_limit(mut self, bytes: usize) -> TestApi {
        self.exporting.inline_export_limit_bytes = bytes;
        self
    }

    /// Invitations sent from an address the emulator never verified: SES refuses them.
    pub fn with_unverified_sender(mut self) -> TestApi {
        self.invitations.mailer = Mailer::new(self.ses.clone(), "nobody@unverified.test");
        self
    }

    pub fn store(&self) -> &Store {
        &self.app.store
    }

    /// A fresh organization with an admin and the admin's API key.
    pub async fn new_organization(&self) -> TestOrg {
        let name = format!("Test Utility {}", UserId::new());
        let input = NewOrganization::parse(&name, "admin@utility.example", "Ada Admin").expect("a valid organization");
        let outcome = organizations::bootstrap(self.store(), input)
            .await
            .expect("bootstrap a test organization");
        match outcome {
            BootstrapOutcome::Created {
                organization,
                admin,
                api_key,
            } => TestOrg {
                id: organization.id,
                name,
                admin_id: admin,
                admin_key: api_key.expose_secret().to_string(),
            },
            BootstrapOutcome::AlreadyExists { .. } => panic!("a fresh organization name already existed"),
        }
    }

    /// Sends a request as API Gateway would: `path` may carry a query string.
    pub async fn call(&self, method: &str, path: &str, api_key: Option<&str>, body: Option<Value>) -> TestResponse {
        let body = body.map(|value| value.to_string());
        self.call_raw(method, path, api_key, body.as_deref()).await
    }

    pub async fn call_raw(&self, method: &str, path: &str, api_key: Option<&str>, body: Option<&str>) -> TestResponse {
        self.call_event(api_gateway_event(method, path, api_key, body)).await
    }

    /// `call_raw` with extra request headers (e.g. `Idempotency-Key`).
    pub async fn call_with_headers(
        &self,
        method: &str,
        path: &str,
        api_key: Option<&str>,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut event = api_gateway_event(method, path, api_key, body);
        for (name, value) in headers {
            event["headers"][name.to_ascii_lowercase()] = json!(value);
        }
        self.call_event(event).await
    }

    /// A POST with an `Idempotency-Key`; the body is sent as `body.to_string()`, as `post`.
    pub async fn post_with_key(&self, path: &str, api_key: &str, idempotency_key: &str, body: Value) -> TestResponse {
        let body = body.to_string();
        self.call_with_headers(
            "POST",
            path,
            Some(api_key),
            Some(&body),
            &[("Idempotency-Key", idempotency_key)],
        )
        .await
    }

    /// Sends an API Gateway event as given (e.g. a base64-encoded body), to the function
    /// the route table names for its method and path.
    pub async fn call_event(&self, event: Value) -> TestResponse {
        let method = event["requestContext"]["http"]["method"]
            .as_str()
            .unwrap_or("GET")
            .to_string();
        let raw_path = event["rawPath"].as_str().unwrap_or("/").to_string();
        let request = lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event");
        let function = routes::match_path(&method, &raw_path)
            .map(|matched| matched.route.operation.function())
            .unwrap_or(Function::Users);
        let response = self.invoke(function, request).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let raw = match response.body() {
            Body::Text(text) => text.as_bytes().to_vec(),
            Body::Binary(bytes) => bytes.clone(),
            _ => Vec::new(),
        };
        let text = String::from_utf8_lossy(&raw).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        TestResponse {
            status,
            body,
            headers,
            raw,
        }
    }

    /// Runs the handler of one function, as its Lambda would.
    pub async fn invoke(&self, function: Function, request: lambda_http::Request) -> lambda_http::Response<Body> {
        match function {
            Function::Users => users::handle(&self.exporting, request).await,
            Function::Roles => roles::handle(&self.app, request).await,
            Function::ApiKeys => api_keys::handle(&self.app, request).await,
            Function::AuditEvents => audit_events::handle(&self.audit, request).await,
            Function::CipSeniorManager => cip_senior_manager::handle(&self.app, request).await,
            Function::Invitations => invitations::handle(&self.invitations, request).await,
            Function::Facilities => facilities::handle(&self.app, request).await,
            Function::Groups => groups::handle(&self.app, request).await,
            Function::Scim => scim::handle(&self.app, request).await,
            Function::TrainingModules => training_modules::handle(&self.app, request).await,
            Function::TrainingAssignments => training_assignments::handle(&self.exporting, request).await,
            Function::Xapi => xapi::handle(&self.app, request).await,
            Function::Webhooks => ::webhooks::handle(&self.webhooks, request).await,
            Function::TrainingRequirements => ::training_requirements::handle(&self.app, request).await,
        }
    }

    pub async fn get(&self, path: &str, api_key: &str) -> TestResponse {
        self.call("GET", path, Some(api_key), None).await
    }

    pub async fn post(&self, path: &str, api_key: &str, body: Value) -> TestResponse {
        self.call("POST", path, Some(api_key), Some(body)).await
    }

    pub async fn patch(&self, path: &str, api_key: &str, body: Value) -> TestResponse {
        self.call("PATCH", path, Some(api_key), Some(body)).await
    }

    pub async fn delete(&self, path: &str, api_key: &str) -> TestResponse {
        self.call("DELETE", path, Some(api_key), None).await
    }

    /// Creates a viewer in the organization, as its admin; returns the user id.
    pub async fn create_user(&self, org: &TestOrg, email: &str, display_name: &str) -> String {
        let user = self
            .post(
                "/users",
                &org.admin_key,
                json!({ "email": email, "displayName": display_name }),
            )
            .await
            .expect(201);
        user["id"].as_str().expect("user id").to_string()
    }

    /// Creates a member with the given roles and an API key acting as them; returns
    /// (user id, key).
    pub async fn member_with_key(&self, org: &TestOrg, email: &str, roles: &[&str]) -> (String, String) {
        let user = self
            .post(
                "/users",
                &org.admin_key,
                json!({ "email": email, "displayName": email, "roles": roles }),
            )
            .await
            .expect(201);
        let user_id = user["id"].as_str().expect("user id").to_string();
        let key = self
            .post(
                "/api-keys",
                &org.admin_key,
                json!({ "name": format!("key for {email}"), "userId": user_id }),
            )
            .await
            .expect(201);
        (user_id, key["secret"].as_str().expect("secret").to_string())
    }

    /// Like `member_with_key`, but the key is one the member minted for themselves, so it
    /// does not depend on the admin who created them (a key never outranks its creator).
    /// The organization's bootstrap admin must still be an admin.
    pub async fn member_with_own_key(&self, org: &TestOrg, email: &str, roles: &[&str]) -> (String, String) {
        let (user_id, minted_by_admin) = self.member_with_key(org, email, roles).await;
        let own = self
            .post(
                "/api-keys",
                &minted_by_admin,
                json!({ "name": format!("own key of {email}") }),
            )
            .await
            .expect(201);
        (user_id, own["secret"].as_str().expect("secret").to_string())
    }

    /// Gives the bootstrap admin's account of `home` a membership in `other` too, with
    /// `email` and one system role there, written through the real store (as accepting
    /// an invitation would, without the email round trip).
    pub async fn join_with_home_admin_account(&self, home: &TestOrg, other: &TestOrg, email: &str, role: SystemRole) {
        let mut membership = operations::users::get_member(self.store(), &home.id, &home.admin_id)
            .await
            .expect("the home admin's membership");
        membership.organization_id = other.id.clone();
        membership.organization_name = other.name.clone();
        membership.email = raptor_shared::validation::Email::parse("email", email).expect("a valid email");
        membership.roles = vec![RoleRef::System(role)];
        let mut transaction = Transaction::new();
        store::members::put_new(&mut transaction, &membership).expect("a membership write");
        transaction
            .commit(self.store())
            .await
            .expect("join the other organization");
    }

    /// Every audit event about a target, newest first.
    pub async fn audit_trail_of(&self, org: &TestOrg, target_id: &str) -> Vec<Value> {
        let body = self
            .get(&format!("/audit-events?targetId={target_id}&limit=100"), &org.admin_key)
            .await
            .expect(200);
        body["data"].as_array().cloned().unwrap_or_default()
    }
}

/// An API Gateway HTTP API (payload 2.0) event, as API Gateway sends it to Lambda.
pub fn api_gateway_event(method: &str, path: &str, api_key: Option<&str>, body: Option<&str>) -> Value {
    let (raw_path, raw_query) = path.split_once('?').unwrap_or((path, ""));
    let mut query = serde_json::Map::new();
    for pair in raw_query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        // API Gateway joins repeated parameters with commas.
        let joined = match query.get(name).and_then(Value::as_str) {
            Some(existing) => format!("{existing},{value}"),
            None => value.to_string(),
        };
        query.insert(name.to_string(), Value::String(joined));
    }
    let mut headers = serde_json::Map::from_iter([
        ("content-type".to_string(), json!("application/json")),
        ("host".to_string(), json!("api.raptorcomply.test")),
    ]);
    if let Some(key) = api_key {
        headers.insert("x-api-key".into(), json!(key));
    }
    // API Gateway sends the query string as the client encoded it; tests write it as text
    // (a SCIM filter has spaces and quotes), so what a URI cannot hold is encoded here.
    const NOT_IN_A_URI: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'<')
        .add(b'>')
        .add(b'`')
        .add(b'{')
        .add(b'}')
        .add(b'|')
        .add(b'\\')
        .add(b'^');
    let raw_query = percent_encoding::utf8_percent_encode(raw_query, NOT_IN_A_URI).to_string();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "queryStringParameters": if query.is_empty() { Value::Null } else { Value::Object(query) },
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": "api.raptorcomply.test",
            "domainPrefix": "api",
            "http": { "method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "integration-tests" },
            "requestId": "test",
            "routeKey": "$default",
            "stage": "$default",
            "time": "23/Nov/2026:18:00:00 +0000",
            "timeEpoch": 1795456800000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
}

/// An email the emulator's SES accepted: its recipients, subject and body (moto keeps the
/// HTML part when there is one).
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub to: Vec<String>,
    pub source: String,
    pub subject: String,
    pub body: String,
}

impl SentEmail {
    /// The invitation token of the accept link in the body.
    pub fn token(&self) -> String {
        let start = self.body.find("token=").expect("an accept link with a token") + "token=".len();
        self.body[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect()
    }
}

/// Every email the emulator's SES has sent to `address`, oldest first.
pub fn sent_emails_to(address: &str) -> Vec<SentEmail> {
    sent_emails()
        .into_iter()
        .filter(|email| email.to.iter().any(|to| to.eq_ignore_ascii_case(address)))
        .collect()
}

/// Every email the emulator's SES has sent, oldest first, read back from moto's state
/// (`/moto-api/data.json`, key `ses`; `?service=ses` asks `scripts/emulator.py` for that
/// part alone).
pub fn sent_emails() -> Vec<SentEmail> {
    use std::io::{Read, Write};
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL");
    let host = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(host).expect("connect to the emulator");
    write!(
        stream,
        "GET /moto-api/data.json?service=ses HTTP/1.0\r\nHost: {host}\r\n\r\n"
    )
    .expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let response = String::from_utf8(response).expect("UTF-8");
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let state: Value = serde_json::from_str(body).expect("moto state is JSON");
    state["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|message| SentEmail {
            to: message["destinations"]["ToAddresses"]
                .as_array()
                .map(|list| list.iter().filter_map(|a| a.as_str().map(str::to_string)).collect())
                .unwrap_or_default(),
            source: message["source"].as_str().unwrap_or_default().to_string(),
            subject: message["subject"].as_str().unwrap_or_default().to_string(),
            body: message["body"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}
