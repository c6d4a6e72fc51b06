//! The training requirements benchmark (not a test: it prints figures). An organization of
//! 1,000 and of 10,000 members (seeded straight into the table, as the evidence benchmark
//! does) declares a requirement that applies to everyone; the real engine function
//! (`functions/training-rules`, as its schedule invokes it) goes through every member and
//! makes each one's assignment. `--rounds` times each (default 3), each round into a table
//! of its own. Prints the backfill's time and DynamoDB calls, in all and per member. Run by
//! `scripts/bench-requirements`.

use std::time::Instant;

use integration_tests::{TestApi, measure};
use serde_json::json;

const SIZES: [usize; 2] = [1_000, 10_000];
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds = measure::rounds_argument("requirements-bench");
    println!(
        "a requirement for everyone, backfilled by the real engine (emulator: moto on 127.0.0.1), {rounds} rounds each"
    );
    println!(
        "{:>8} {:>10} {:>12} {:>12} {:>14} {:>12}",
        "members", "seconds", "ms / member", "calls", "calls / member", "assignments"
    );
    for size in SIZES {
        let (mut seconds, mut calls, mut made) = (Vec::with_capacity(rounds), 0, 0);
        for _ in 0..rounds {
            let api = TestApi::new().await;
            let org = api.new_organization().await;
            let org_id = org.id.to_string();
            // The bootstrap admin is a member too: `size` in all.
            api.import_members(&org, size - 1).await;
            let module = api
                .post(
                    "/training-modules",
                    &org.admin_key,
                    json!({ "title": "Cyber security awareness", "completionIntervalDays": 365 }),
                )
                .await
                .expect(201);
            let requirement = api
                .post(
                    "/training-requirements",
                    &org.admin_key,
                    json!({ "trainingModuleId": module["id"], "appliesTo": { "everyone": true }, "dueWithinDays": 30 }),
                )
                .await
                .expect(201);
            api.dynamo_calls.reset();
            let started = Instant::now();
            loop {
                // As the schedule runs it: each run goes on until its time budget.
                let run = api.sweep_training_rules(&org_id, u64::MAX).await;
                if run["backfillBatches"] == 0 {
                    break;
                }
            }
            seconds.push(started.elapsed().as_secs_f64());
            calls = api.dynamo_calls.count();
            let done = api
                .get(
                    &format!("/training-requirements/{}", requirement["id"].as_str().unwrap()),
                    &org.admin_key,
                )
                .await
                .expect(200);
            assert_eq!(done["backfill"]["status"], "done");
            made = done["backfill"]["assignmentsCreated"].as_u64().unwrap_or_default();
        }
        let median = measure::median(seconds);
        println!(
            "{size:>8} {median:>10.1} {:>12.2} {calls:>12} {:>14.2} {made:>12}",
            median * 1000.0 / size as f64,
            calls as f64 / size as f64,
        );
    }
}
