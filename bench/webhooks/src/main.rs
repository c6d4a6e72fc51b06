//! The webhook benchmark (not a test: it prints figures). An endpoint wants `user.created`;
//! 1, 10 and 100 people are created (100 is the stream event source's batch size), and the
//! table's stream batch goes through the real dispatcher (a delivery written and queued per
//! event), then the queue through the real sender (each delivery claimed, signed, POSTed to
//! a receiver on 127.0.0.1, recorded), `--rounds` times each (default 3), each round into a
//! table of its own. Prints the time and DynamoDB calls per event dispatched and per
//! delivery sent. Run by `scripts/bench-webhooks`.

use std::time::Instant;

use integration_tests::webhooks::Receiver;
use integration_tests::{TestApi, measure};
use serde_json::json;

const SIZES: [usize; 3] = [1, 10, 100];

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds = measure::rounds_argument("webhooks-bench");
    println!("webhooks through the real dispatcher and sender (emulator: moto on 127.0.0.1), {rounds} rounds each");
    println!(
        "{:>6} {:>14} {:>14} {:>14} {:>14} {:>10}",
        "events", "dispatch ms/ev", "calls / event", "send ms/dlv", "calls / dlv", "received"
    );
    for size in SIZES {
        let (mut dispatch, mut send) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
        let (mut dispatch_calls, mut send_calls, mut received) = (0, 0, 0);
        for _ in 0..rounds {
            // A table of its own each round, so no round times the one before's items.
            let api = TestApi::new().await;
            let org = api.new_organization().await;
            let receiver = Receiver::start().await;
            api.post(
                "/webhook-endpoints",
                &org.admin_key,
                json!({ "url": receiver.url("/bench"), "eventTypes": ["user.created"] }),
            )
            .await
            .expect(201);
            // The bootstrap's events predate the endpoint: read them off the stream first.
            if let Some(earlier) = api.new_stream_records().await {
                webhook_dispatcher::handle(&api.webhooks, earlier)
                    .await
                    .expect("dispatch");
            }
            for n in 0..size {
                api.create_user(&org, &format!("person{n}@utility.example"), &format!("Person {n}"))
                    .await;
            }
            let batch = api.new_stream_records().await.expect("the new events");
            api.dynamo_calls.reset();
            let started = Instant::now();
            Box::pin(webhook_dispatcher::handle(&api.webhooks, batch))
                .await
                .expect("dispatch");
            dispatch.push(started.elapsed().as_secs_f64());
            dispatch_calls = api.dynamo_calls.count();
            api.dynamo_calls.reset();
            let started = Instant::now();
            api.drain_webhook_queue().await;
            send.push(started.elapsed().as_secs_f64());
            send_calls = api.dynamo_calls.count();
            received = receiver.received().len();
        }
        let per = |seconds: f64| seconds * 1000.0 / size as f64;
        println!(
            "{size:>6} {:>14.1} {:>14.1} {:>14.1} {:>14.1} {received:>10}",
            per(measure::median(dispatch)),
            dispatch_calls as f64 / size as f64,
            per(measure::median(send)),
            send_calls as f64 / size as f64,
        );
    }
}
