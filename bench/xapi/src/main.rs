//! The xAPI batch benchmark (not a test: it prints figures). An LMS sends batches of 1, 10
//! and 50 `completed` statements, one per learner with an open assignment, through the real
//! xAPI handler as API Gateway would call it, `--rounds` times each (default 3), each round
//! into a fresh organization in a table of its own. Prints the wall time per batch and per
//! statement, and the DynamoDB calls per statement. Run by `scripts/bench-xapi`.

use std::time::Instant;

use integration_tests::{TestApi, measure};
use serde_json::{Value, json};

const SIZES: [usize; 3] = [1, 10, 50];
const COURSE: &str = "https://lms.example.com/courses/cip-004-bench";

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let rounds = measure::rounds_argument("xapi-bench");
    println!("xAPI completions through the real handler (emulator: moto on 127.0.0.1), {rounds} rounds each");
    println!(
        "{:>6} {:>10} {:>10} {:>16} {:>16} {:>10}",
        "items", "median s", "max s", "ms / statement", "calls / stmt", "completed"
    );
    for size in SIZES {
        let mut seconds = Vec::with_capacity(rounds);
        let mut calls = 0;
        let mut completed = 0;
        for _ in 0..rounds {
            // A table of its own each round, so no round times the one before's items.
            let api = TestApi::new().await;
            let org = api.new_organization().await;
            let key = &org.admin_key;
            let module = api
                .post(
                    "/training-modules",
                    key,
                    json!({ "title": "CIP-004 awareness", "completionIntervalDays": 365, "externalModuleUrl": COURSE }),
                )
                .await
                .expect(201);
            let mut statements: Vec<Value> = Vec::with_capacity(size);
            let mut assignments = Vec::with_capacity(size);
            for n in 0..size {
                let email = format!("learner{n}@utility.example");
                let user = api.create_user(&org, &email, &format!("Learner {n}")).await;
                let assignment = api
                    .post(
                        "/training-assignments",
                        key,
                        json!({ "userId": user, "trainingModuleId": module["id"], "dueDate": "2999-12-31" }),
                    )
                    .await
                    .expect(201);
                assignments.push(assignment["id"].as_str().unwrap().to_string());
                statements.push(json!({
                    "actor": { "objectType": "Agent", "mbox": format!("mailto:{email}") },
                    "verb": { "id": "http://adlnet.gov/expapi/verbs/completed" },
                    "object": { "id": COURSE },
                    "result": { "score": { "scaled": 0.9 }, "completion": true }
                }));
            }
            let body = Value::Array(statements).to_string();
            api.dynamo_calls.reset();
            let started = Instant::now();
            let answer = api
                .call_with_headers(
                    "POST",
                    "/xapi/statements",
                    Some(key),
                    Some(&body),
                    &[("X-Experience-API-Version", "1.0.3")],
                )
                .await;
            seconds.push(started.elapsed().as_secs_f64());
            calls = api.dynamo_calls.count();
            assert_eq!(answer.status, 200, "{}", answer.body);
            completed = 0;
            for id in &assignments {
                let assignment = api.get(&format!("/training-assignments/{id}"), key).await.expect(200);
                completed += usize::from(assignment["status"] == "complete");
            }
        }
        let max = seconds.iter().copied().fold(0.0, f64::max);
        let median = measure::median(seconds);
        println!(
            "{size:>6} {median:>10.3} {max:>10.3} {:>16.1} {:>16.1} {completed:>10}",
            median * 1000.0 / size as f64,
            calls as f64 / size as f64,
        );
    }
}
