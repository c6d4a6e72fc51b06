//! Webhooks in the tests: a real HTTP receiver on 127.0.0.1, and the two event sources
//! Lambda would run, driven from the emulator: the table's stream read with the real
//! DynamoDB Streams API into the dispatcher, and the queue received with the real SQS API
//! into the sender, each in the shape Lambda gives the function.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::TestApi;

/// What the receiver answers one request with.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Status(u16),
    /// Waits this long before answering 200 (past the sender's timeout: no answer).
    Stall(Duration),
}

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    /// Header names in lowercase.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// An HTTP/1.1 server on 127.0.0.1 that records every request and answers 200 unless told
/// otherwise (`answer_next`).
#[derive(Clone)]
pub struct Receiver {
    address: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    answers: Arc<Mutex<VecDeque<Answer>>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the receiver");
        let receiver = Receiver {
            address: listener.local_addr().expect("the receiver's address"),
            received: Arc::default(),
            answers: Arc::default(),
        };
        let serving = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let receiver = serving.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let receiver = receiver.clone();
                        async move { Ok::<_, Infallible>(receiver.answer(request).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        receiver
    }

    async fn answer(&self, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let path = request.uri().path().to_string();
        let headers = request
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_string(),
                    value.to_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        let body = request
            .into_body()
            .collect()
            .await
            .map(|body| body.to_bytes().to_vec())
            .unwrap_or_default();
        self.received.lock().unwrap().push(Received { path, headers, body });
        let answer = self.answers.lock().unwrap().pop_front().unwrap_or(Answer::Status(200));
        let status = match answer {
            Answer::Status(status) => status,
            Answer::Stall(pause) => {
                tokio::time::sleep(pause).await;
                200
            }
        };
        hyper::Response::builder()
            .status(status)
            .body(Full::new(Bytes::from_static(b"{}")))
            .expect("a response")
    }

    /// `http://127.0.0.1:<port><path>`: allowed by the tests' (and the local run's) policy only.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn answer_next(&self, answers: &[Answer]) {
        self.answers.lock().unwrap().extend(answers.iter().copied());
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// A stream record's image in the JSON Lambda gives a function (`{"S": "…"}`, …).
fn attribute_json(value: &AttributeValue) -> Value {
    let base64 = aws_smithy_types::base64::encode;
    match value {
        AttributeValue::S(text) => json!({ "S": text }),
        AttributeValue::N(number) => json!({ "N": number }),
        AttributeValue::Bool(flag) => json!({ "BOOL": flag }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::B(bytes) => json!({ "B": base64(bytes.as_ref()) }),
        AttributeValue::Ss(texts) => json!({ "SS": texts }),
        AttributeValue::Ns(numbers) => json!({ "NS": numbers }),
        AttributeValue::Bs(blobs) => json!({ "BS": blobs.iter().map(|b| base64(b.as_ref())).collect::<Vec<_>>() }),
        AttributeValue::L(values) => json!({ "L": values.iter().map(attribute_json).collect::<Vec<_>>() }),
        AttributeValue::M(map) => {
            json!({ "M": map.iter().map(|(k, v)| (k.clone(), attribute_json(v))).collect::<serde_json::Map<_, _>>() })
        }
        other => panic!("an attribute type the stream never carries here: {other:?}"),
    }
}

/// What one run of the event sources did.
#[derive(Debug, Default)]
pub struct WebhookRun {
    pub stream_records: usize,
    pub messages: usize,
}

impl TestApi {
    /// The stream records written since the last call that pass the template's filter
    /// (inserted audit events), as the DynamoDB event Lambda's event source mapping would
    /// invoke the dispatcher with (`None`: none new).
    pub async fn new_stream_records(&self) -> Option<Value> {
        let description = self
            .app
            .store
            .client()
            .describe_table()
            .table_name(self.app.store.table())
            .send()
            .await
            .expect("describe the test table");
        let stream_arn = description
            .table
            .and_then(|table| table.latest_stream_arn)
            .expect("the table has a stream");
        let shards = self
            .streams
            .describe_stream()
            .stream_arn(&stream_arn)
            .send()
            .await
            .expect("describe the stream")
            .stream_description
            .and_then(|stream| stream.shards)
            .unwrap_or_default();
        let mut records = Vec::new();
        for shard in shards {
            let shard_id = shard.shard_id.expect("a shard id");
            let after = self.stream_positions.lock().unwrap().get(&shard_id).cloned();
            let mut iterator_request = self
                .streams
                .get_shard_iterator()
                .stream_arn(&stream_arn)
                .shard_id(&shard_id);
            iterator_request = match &after {
                Some(sequence) => iterator_request
                    .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                    .sequence_number(sequence),
                None => iterator_request.shard_iterator_type(ShardIteratorType::TrimHorizon),
            };
            let mut iterator = iterator_request.send().await.expect("a shard iterator").shard_iterator;
            while let Some(current) = iterator {
                let page = self
                    .streams
                    .get_records()
                    .shard_iterator(current)
                    .limit(1000)
                    .send()
                    .await
                    .expect("the stream's records");
                let got = page.records.unwrap_or_default();
                if got.is_empty() {
                    break;
                }
                for record in got {
                    let change = record.dynamodb.expect("a change");
                    if let Some(sequence) = &change.sequence_number {
                        self.stream_positions
                            .lock()
                            .unwrap()
                            .insert(shard_id.clone(), sequence.clone());
                    }
                    // The template's FilterCriteria: inserted items carrying payloadVersion.
                    let inserted = record.event_name.as_ref().is_some_and(|name| name.as_str() == "INSERT");
                    let audit_event = change
                        .new_image
                        .as_ref()
                        .is_some_and(|image| image.contains_key("payloadVersion"));
                    if !(inserted && audit_event) {
                        continue;
                    }
                    let image: serde_json::Map<String, Value> = change
                        .new_image
                        .unwrap_or_default()
                        .iter()
                        .map(|(name, value)| (name.clone(), attribute_json(value)))
                        .collect();
                    records.push(json!({
                        "eventID": record.event_id,
                        "eventName": record.event_name.map(|name| name.as_str().to_string()),
                        "eventVersion": "1.1",
                        "eventSource": "aws:dynamodb",
                        "awsRegion": "us-east-1",
                        "eventSourceARN": stream_arn,
                        "dynamodb": {
                            "NewImage": image,
                            "SequenceNumber": change.sequence_number,
                            "StreamViewType": "NEW_IMAGE",
                        },
                    }));
                }
                iterator = page.next_shard_iterator;
            }
        }
        (!records.is_empty()).then(|| json!({ "Records": records }))
    }

    /// Runs what Lambda runs between a change and its webhooks: the new stream records into
    /// the dispatcher, then the queue into the sender until it is empty.
    pub async fn run_webhooks(&self) -> WebhookRun {
        let mut run = WebhookRun::default();
        if let Some(event) = self.new_stream_records().await {
            run.stream_records = event["Records"].as_array().map_or(0, Vec::len);
            Box::pin(webhook_dispatcher::handle(&self.webhooks, event))
                .await
                .expect("the dispatcher handles the stream records");
        }
        run.messages = self.drain_webhook_queue().await;
        run
    }

    /// The dispatcher as the schedule invokes it (queues what is due), then the queue.
    pub async fn sweep_webhooks(&self) -> usize {
        Box::pin(webhook_dispatcher::handle(&self.webhooks, json!({})))
            .await
            .expect("the dispatcher sweeps");
        self.drain_webhook_queue().await
    }

    /// Receives the queue's messages, 10 at a time as the event source mapping's batch,
    /// into the sender; deletes those it did not report failed (as Lambda does).
    pub async fn drain_webhook_queue(&self) -> usize {
        let queue = self.webhooks.queue.url();
        let mut handled = 0;
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive from the delivery queue");
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return handled;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|message| {
                    json!({
                        "messageId": message.message_id,
                        "receiptHandle": message.receipt_handle,
                        "body": message.body,
                        "attributes": {},
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:webhook-deliveries",
                        "awsRegion": "us-east-1",
                    })
                })
                .collect();
            let answer = Box::pin(webhook_sender::handle(&self.webhooks, json!({ "Records": records })))
                .await
                .expect("the sender handles the batch");
            let failed: Vec<String> = answer
                .batch_item_failures
                .iter()
                .map(|failure| failure.item_identifier.clone())
                .collect();
            assert!(failed.is_empty(), "the sender reported failures: {failed:?}");
            for message in &messages {
                self.sqs
                    .delete_message()
                    .queue_url(queue)
                    .receipt_handle(message.receipt_handle.clone().unwrap_or_default())
                    .send()
                    .await
                    .expect("delete a handled message");
            }
            handled += messages.len();
        }
    }
}
