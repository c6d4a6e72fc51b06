//! The invitation batch benchmark (not a test: it prints figures). Sends batches of 10, 50
//! and 100 invitations, each with its email through the emulator's SES, through the real
//! invitations handler as API Gateway would call it, `--rounds` times each (default 3),
//! each round into a fresh organization in a table of its own. Prints the wall time of each batch and per
//! invitation, against the function's timeout in the template. Run by
//! `scripts/bench-invitations` (and by `scripts/bench`).

use std::time::Instant;

use integration_tests::{TestApi, measure};
use serde_json::{Value, json};

const SIZES: [usize; 3] = [10, 50, 100];

#[tokio::main]
async fn main() {
    let rounds = measure::rounds_argument("invitations-bench");
    println!("Invitation batches through the real handler, emails through the emulator's SES, {rounds} rounds each");
    println!(
        "{:>6} {:>12} {:>12} {:>16} {:>8}",
        "items", "median s", "max s", "ms / invitation", "201s"
    );
    for size in SIZES {
        let mut seconds = Vec::with_capacity(rounds);
        let mut created = 0;
        for round in 0..rounds {
            // A table of its own each round, so no round times the one before's items.
            let api = TestApi::new().await;
            let org = api.new_organization().await;
            let items: Vec<Value> = (0..size)
                .map(|n| json!({ "email": format!("bench{n}.r{round}.{}@invitee.example", org.id.as_str()), "displayName": format!("Invitee {n}") }))
                .collect();
            let started = Instant::now();
            let answer = api
                .post("/invitations", &org.admin_key, json!({ "invitations": items }))
                .await
                .expect(200);
            seconds.push(started.elapsed().as_secs_f64());
            created = answer["results"]
                .as_array()
                .map(|results| results.iter().filter(|r| r["status"] == 201).count())
                .unwrap_or(0);
            if created != size {
                eprintln!("  only {created} of {size} were created: {answer}");
            }
        }
        let max = seconds.iter().copied().fold(0.0, f64::max);
        let median = measure::median(seconds);
        println!(
            "{size:>6} {median:>12.2} {max:>12.2} {:>16.1} {created:>8}",
            median * 1000.0 / size as f64
        );
    }
}
