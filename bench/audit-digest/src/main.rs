//! The audit digest benchmark (not a test: it prints figures). Seeds `--events` audit
//! events (default 10,000) over `--organizations` organizations (default 10) in the local
//! emulator, then runs the digest job once over all of them and verifies one
//! organization's trail, printing wall time and DynamoDB calls, in all and per event.
//! Run by `scripts/bench-audit-digest`.

use std::time::Instant;

use integration_tests::TestApi;
use raptor_shared::model::events::Event;
use raptor_shared::model::events::facilities::FacilityDeleted;
use raptor_shared::model::principal::Actor;
use raptor_shared::operations::audit_digests;
use raptor_shared::store::{self, Transaction};
use raptor_shared::time::Timestamp;

fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let events = argument("--events", 10_000);
    let organizations = argument("--organizations", 10).max(1);
    let api = TestApi::new().await;
    let mut orgs = Vec::new();
    for _ in 0..organizations {
        orgs.push(api.new_organization().await);
    }
    let seeding = Instant::now();
    let start = api.clock().now().millis();
    let mut written = 0;
    while written < events {
        let mut transaction = Transaction::new();
        for _ in 0..100.min(events - written) {
            let org = &orgs[written % organizations];
            let actor = Actor {
                org_id: org.id.clone(),
                user_id: org.admin_id.clone(),
                api_key_id: None,
            };
            let at = Timestamp::from_millis(start + i64::try_from(written).unwrap_or(0));
            let event = Event::FacilityDeleted(FacilityDeleted {
                name: format!("Substation {written}"),
            });
            store::audit::record(&mut transaction, &actor, at, "fac_01hx2m7k3q9v8c6b5n4m3k2j1h", &event)
                .expect("an event");
            written += 1;
        }
        transaction.send(api.store()).await.expect("seed a page of events");
    }
    println!(
        "seeded {events} audit events over {organizations} organizations in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    let at = Timestamp::from_millis(start + i64::try_from(events).unwrap_or(0) + 10_000);
    api.dynamo_calls.reset();
    let running = Instant::now();
    let report = audit_digests::run(api.store(), &api.audit.signer, at)
        .await
        .expect("the digest job runs");
    let seconds = running.elapsed().as_secs_f64();
    let calls = api.dynamo_calls.count();
    println!(
        "digest run: {} events, {} digests (one KMS Sign each), {seconds:.2} s, {calls} DynamoDB calls; per event {:.3} ms, {:.4} calls",
        report.events_digested,
        report.digests_written,
        1000.0 * seconds / report.events_digested.max(1) as f64,
        calls as f64 / report.events_digested.max(1) as f64,
    );

    let org = &orgs[0];
    let path = "/audit-events/verify";
    api.dynamo_calls.reset();
    let verifying = Instant::now();
    let answer = api.get(path, &org.admin_key).await.expect(200);
    let seconds = verifying.elapsed().as_secs_f64();
    let checked = answer["eventsChecked"].as_u64().unwrap_or(0);
    println!(
        "verify one organization: {checked} events, verified {}, {seconds:.2} s, {} DynamoDB calls; per event {:.3} ms",
        answer["verified"],
        api.dynamo_calls.count(),
        1000.0 * seconds / checked.max(1) as f64,
    );
}
