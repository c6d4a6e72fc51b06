//! A fault-injecting HTTP proxy between the SDK clients and the emulator: the faults that
//! real DynamoDB, SES and S3 produce and the emulator never does, in the wire form AWS
//! sends them (status, `__type` or error `Code`, `CancellationReasons`), or a delay, or a
//! connection dropped before or after the emulator answered.
//!
//! It also does what the emulator does not for `ClientRequestToken`: a `TransactWriteItems`
//! re-sent with the token of one that succeeded is answered as DynamoDB answers it (success,
//! no second write).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// The call a rule matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A DynamoDB operation by name (`TransactWriteItems`, `GetItem`, `Query`, ...).
    DynamoDb(&'static str),
    /// Every DynamoDB call.
    AnyDynamoDb,
    /// An SES action (`SendEmail`).
    Ses(&'static str),
    /// A KMS operation (`Sign`, `GetPublicKey`).
    Kms(&'static str),
    /// Every S3 call.
    S3,
    /// The S3 calls of one HTTP method (`PUT` is UploadPart, `POST` creates or completes
    /// a multipart upload).
    S3Method(&'static str),
}

/// What the proxy does instead of (or besides) forwarding a matched call.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// `ProvisionedThroughputExceededException` (400).
    ThroughputExceeded,
    /// `ThrottlingException` (400).
    Throttling,
    /// `InternalServerError` (500).
    InternalServerError,
    /// `TransactionCanceledException` (400) naming `TransactionConflict` for the write at
    /// this index (`None`: the last), `None` for the others.
    TransactionConflict(Option<usize>),
    /// `TransactionInProgressException` (400): an earlier attempt of the same token is
    /// still running.
    TransactionInProgress,
    /// SES `Throttling` (400, "Maximum sending rate exceeded").
    SesThrottling,
    /// S3 `SlowDown` (503).
    S3SlowDown,
    /// Waits this long, then forwards.
    Delay(Duration),
    /// Closes the connection without forwarding or answering.
    Drop,
    /// Forwards, then closes the connection without the emulator's answer: the write
    /// happened and the caller never heard.
    LoseAnswer,
}

/// How many matching calls a rule faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// The next `n` matching calls.
    Next(usize),
    /// Every matching call.
    Always,
    /// One matching call in `n` (the `n`-th, `2n`-th, ...).
    OneIn(usize),
    /// Every matching call after the first `n`.
    After(usize),
    /// The `n`-th matching call only (counting from 1).
    Nth(usize),
}

#[derive(Debug, Clone)]
struct Rule {
    target: Target,
    fault: Fault,
    times: Times,
    matched: usize,
}

/// What the proxy saw of one call.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `DynamoDB.<Operation>`, `KMS.<Operation>`, `SES.<Action>` or `S3.<METHOD>`.
    pub call: String,
    pub fault: Option<Fault>,
    /// A `TransactWriteItems`'s `ClientRequestToken`.
    pub token: Option<String>,
}

#[derive(Default)]
struct State {
    rules: Vec<Rule>,
    seen: Vec<Seen>,
    /// Answers of transactions that succeeded, by `ClientRequestToken`.
    tokens: HashMap<String, Vec<u8>>,
}

/// A running proxy; dropping it leaves its task serving until the test ends.
#[derive(Clone)]
pub struct FaultProxy {
    url: String,
    state: Arc<Mutex<State>>,
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 in front of the emulator at `emulator` (`host:port`).
    pub async fn start(emulator: String) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the fault proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy address"));
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(serve(client, emulator.clone(), shared.clone()));
            }
        });
        FaultProxy { url, state }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Faults `times` of the calls `target` matches with `fault`, from now on.
    pub fn fault(&self, target: Target, fault: Fault, times: Times) {
        self.lock().rules.push(Rule {
            target,
            fault,
            times,
            matched: 0,
        });
    }

    /// Removes every rule: calls go through again.
    pub fn heal(&self) {
        self.lock().rules.clear();
    }

    /// Every call seen so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// How many calls named `call` (`DynamoDB.TransactWriteItems`) the proxy saw.
    pub fn count(&self, call: &str) -> usize {
        self.lock().seen.iter().filter(|seen| seen.call == call).count()
    }

    /// How many calls it faulted.
    pub fn faults_injected(&self) -> usize {
        self.lock().seen.iter().filter(|seen| seen.fault.is_some()).count()
    }

    pub fn forget_seen(&self) {
        self.lock().seen.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("fault proxy state")
    }
}

/// One request as read from the client.
struct Request {
    head: Vec<u8>,
    body: Vec<u8>,
    call: String,
}

impl Request {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn matches(&self, target: &Target) -> bool {
        match target {
            Target::DynamoDb(operation) => self.call == format!("DynamoDB.{operation}"),
            Target::AnyDynamoDb => self.call.starts_with("DynamoDB."),
            Target::Ses(action) => self.call == format!("SES.{action}"),
            Target::Kms(operation) => self.call == format!("KMS.{operation}"),
            Target::S3 => self.call.starts_with("S3."),
            Target::S3Method(method) => self.call == format!("S3.{method}"),
        }
    }
}

/// Reads one request (head and `Content-Length` body); `None` at the end of the connection.
async fn read_request(client: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        match client.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return None,
            Ok(_) => {}
        }
        let blank = line == b"\r\n";
        head.extend(line);
        if blank {
            break;
        }
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let length = text
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0; length];
    client.read_exact(&mut body).await.ok()?;
    let target = text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim()
            .eq_ignore_ascii_case("x-amz-target")
            .then(|| value.trim().to_string())
    });
    let method = text.split_whitespace().next().unwrap_or("GET").to_string();
    let call = match target {
        Some(target) => match target.split_once('.') {
            Some(("TrentService", operation)) => format!("KMS.{operation}"),
            _ => format!("DynamoDB.{}", target.rsplit('.').next().unwrap_or_default()),
        },
        None => match String::from_utf8_lossy(&body)
            .split('&')
            .find_map(|pair| pair.strip_prefix("Action="))
        {
            Some(action) => format!("SES.{action}"),
            None => format!("S3.{method}"),
        },
    };
    Some(Request { head, body, call })
}

/// Serves one client connection, request after request (the SDK keeps connections alive).
async fn serve(client: TcpStream, emulator: String, state: Arc<Mutex<State>>) {
    let mut client = BufReader::new(client);
    while let Some(request) = read_request(&mut client).await {
        let token = (request.call == "DynamoDB.TransactWriteItems")
            .then(|| request.json()["ClientRequestToken"].as_str().map(str::to_string))
            .flatten();
        let (fault, replayed) = {
            let mut state = state.lock().expect("fault proxy state");
            let replayed = token.as_ref().and_then(|token| state.tokens.get(token).cloned());
            let fault = state.rules.iter_mut().find_map(|rule| {
                if !request.matches(&rule.target) {
                    return None;
                }
                // DynamoDB answers a token that already wrote before it looks at any item:
                // such a re-send meets no conflict (it may still be throttled or dropped).
                if replayed.is_some()
                    && matches!(rule.fault, Fault::TransactionConflict(_) | Fault::TransactionInProgress)
                {
                    return None;
                }
                rule.matched += 1;
                let hit = match rule.times {
                    Times::Next(n) => rule.matched <= n,
                    Times::Always => true,
                    Times::OneIn(n) => rule.matched % n.max(1) == 0,
                    Times::After(n) => rule.matched > n,
                    Times::Nth(n) => rule.matched == n,
                };
                hit.then(|| rule.fault.clone())
            });
            state.seen.push(Seen {
                call: request.call.clone(),
                fault: fault.clone(),
                token: token.clone(),
            });
            (fault, replayed)
        };
        let answer = match fault {
            Some(Fault::Drop) => return,
            Some(Fault::Delay(pause)) => {
                tokio::time::sleep(pause).await;
                None
            }
            Some(Fault::LoseAnswer) => {
                if let Some(response) = forward(&emulator, &request).await {
                    remember(&state, token.as_deref(), &response);
                }
                return;
            }
            Some(fault) => Some(error_response(&fault, &request)),
            None => None,
        };
        let response = match (answer, replayed) {
            (Some(answer), _) => answer,
            // DynamoDB answers a re-sent transaction of a token that succeeded with success.
            (None, Some(first)) => first,
            (None, None) => match forward(&emulator, &request).await {
                Some(response) => {
                    remember(&state, token.as_deref(), &response);
                    response
                }
                None => return,
            },
        };
        if client.get_mut().write_all(&response).await.is_err() {
            return;
        }
    }
}

fn remember(state: &Mutex<State>, token: Option<&str>, response: &[u8]) {
    if let Some(token) = token
        && response.starts_with(b"HTTP/1.1 200")
    {
        state
            .lock()
            .expect("fault proxy state")
            .tokens
            .insert(token.to_string(), response.to_vec());
    }
}

/// Sends the request to the emulator on a connection of its own and returns the whole
/// answer, made fit for a kept-alive client connection.
async fn forward(emulator: &str, request: &Request) -> Option<Vec<u8>> {
    let mut upstream = TcpStream::connect(emulator).await.ok()?;
    // One request per upstream connection, which the emulator then closes: its answer is
    // read to the end.
    let head = request.head.strip_suffix(b"\r\n").unwrap_or(&request.head);
    upstream.write_all(head).await.ok()?;
    upstream.write_all(b"Connection: close\r\n\r\n").await.ok()?;
    upstream.write_all(&request.body).await.ok()?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).await.ok()?;
    let text_end = response
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(response.len(), |end| end + 4);
    // The client's connection stays open: the answer is framed by its length, not by the
    // end of the connection as the emulator's may be.
    let head = String::from_utf8_lossy(&response[..text_end]).to_string();
    let body = &response[text_end..];
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let mut fixed = String::new();
    for line in head.split("\r\n").filter(|line| !line.is_empty()) {
        let name = line.split(':').next().unwrap_or_default().trim().to_ascii_lowercase();
        if name == "connection" || (name == "content-length" && !chunked) {
            continue;
        }
        fixed.push_str(line);
        fixed.push_str("\r\n");
    }
    if !chunked {
        fixed.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    fixed.push_str("\r\n");
    let mut fixed = fixed.into_bytes();
    fixed.extend_from_slice(body);
    Some(fixed)
}

fn http_response(status: &str, content_type: &str, extra_headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nx-amzn-RequestId: FAULTPROXY\r\n",
        body.len()
    );
    for (name, value) in extra_headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(body);
    response.into_bytes()
}

fn dynamodb_error(status: &str, error_type: &str, body: Value) -> Vec<u8> {
    let mut body = body;
    body["__type"] = json!(error_type);
    http_response(
        status,
        "application/x-amz-json-1.0",
        &[("x-amzn-ErrorType", error_type.rsplit('#').next().unwrap_or(error_type))],
        &body.to_string(),
    )
}

/// The fault as the service answers it.
fn error_response(fault: &Fault, request: &Request) -> Vec<u8> {
    match fault {
        Fault::ThroughputExceeded => dynamodb_error(
            "400 Bad Request",
            "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
            json!({ "message": "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API." }),
        ),
        Fault::Throttling => dynamodb_error(
            "400 Bad Request",
            "com.amazon.coral.availability#ThrottlingException",
            json!({ "message": "Rate of requests exceeds the allowed throughput." }),
        ),
        Fault::InternalServerError => dynamodb_error(
            "500 Internal Server Error",
            "com.amazonaws.dynamodb.v20120810#InternalServerError",
            json!({ "message": "Internal server error" }),
        ),
        Fault::TransactionConflict(index) => {
            let writes = request.json()["TransactItems"].as_array().map_or(1, Vec::len);
            let conflicted = index.unwrap_or(writes.saturating_sub(1));
            let reasons: Vec<Value> = (0..writes)
                .map(|at| {
                    if at == conflicted {
                        json!({ "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" })
                    } else {
                        json!({ "Code": "None" })
                    }
                })
                .collect();
            let codes: Vec<&str> = (0..writes)
                .map(|at| {
                    if at == conflicted {
                        "TransactionConflict"
                    } else {
                        "None"
                    }
                })
                .collect();
            dynamodb_error(
                "400 Bad Request",
                "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                json!({
                    "Message": format!("Transaction cancelled, please refer cancellation reasons for specific reasons [{}]", codes.join(", ")),
                    "CancellationReasons": reasons,
                }),
            )
        }
        Fault::TransactionInProgress => dynamodb_error(
            "400 Bad Request",
            "com.amazonaws.dynamodb.v20120810#TransactionInProgressException",
            json!({ "message": "Transaction is in progress" }),
        ),
        Fault::SesThrottling => http_response(
            "400 Bad Request",
            "text/xml",
            &[],
            "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Maximum sending rate exceeded.</Message></Error><RequestId>FAULTPROXY</RequestId></ErrorResponse>",
        ),
        Fault::S3SlowDown => http_response(
            "503 Slow Down",
            "application/xml",
            &[],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>FAULTPROXY</RequestId></Error>",
        ),
        Fault::Delay(_) | Fault::Drop | Fault::LoseAnswer => unreachable!("not an answer"),
    }
}
