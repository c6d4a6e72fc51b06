//! The export benchmark (issue 10; not a test: it prints figures). Seeds an organization
//! with `--rows` training assignments (default 100,000) in the local emulator, then exports
//! them through the real training-assignments handler, as API Gateway would call it, in
//! CSV, gzip CSV and gzip JSON; a file past the response cap is fetched from its presigned
//! S3 link. For each: rows, bytes (as stored or sent), the response kind, wall time, and
//! the process's peak memory during the export. Run by `scripts/bench-export`.

// The allocator the functions that export use (functions/training-assignments/src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::Read;
use std::time::Instant;

use integration_tests::measure::{Lcg, cpu_seconds, reset_peak, status_kib};
use integration_tests::{TestApi, TestOrg};
use raptor_shared::ids::{FacilityId, TrainingModuleId, UserId};
use raptor_shared::model::training_assignments::{
    Completion, NewAssignment, TrainingAssignment, complete, new_assignment, waive,
};
use raptor_shared::store;
use raptor_shared::time::{Date, Timestamp};
use serde_json::json;

const PEOPLE: usize = 200;
const MODULES: usize = 5;
const FACILITIES: usize = 12;

async fn seed(api: &TestApi, org: &TestOrg, rows: usize) -> usize {
    let key = &org.admin_key;
    let mut people = Vec::new();
    for n in 0..PEOPLE {
        let email = format!("person{n}@utility.example");
        let name = format!("Person {n}, Ñúñez \"Crew {}\"", n % 7);
        people.push(UserId::parse("id", &api.create_user(org, &email, &name).await).unwrap());
    }
    let mut modules = Vec::new();
    for n in 0..MODULES {
        let body = json!({ "title": format!("CIP-004 module {n}: role-based training"), "cipStandard": "CIP-004", "completionIntervalDays": 365 });
        let module = api.post("/training-modules", key, body).await.expect(201);
        modules.push(TrainingModuleId::parse("id", module["id"].as_str().unwrap()).unwrap());
    }
    let mut facilities = Vec::new();
    for n in 0..FACILITIES {
        let body = json!({ "name": format!("Substation {n}, North Region") });
        let facility = api.post("/facilities", key, body).await.expect(201);
        facilities.push(FacilityId::parse("id", facility["id"].as_str().unwrap()).unwrap());
    }
    eprintln!("  {PEOPLE} people, {MODULES} modules and {FACILITIES} facilities made through the API");
    let mut random = Lcg(42);
    let now = Timestamp::now();
    let mut batch: Vec<TrainingAssignment> = Vec::with_capacity(1000);
    let mut written = 0;
    for n in 0..rows {
        let created = now.minus_days(1 + random.next(700) as u32);
        let mut scope = vec![facilities[random.next(FACILITIES)].clone()];
        if random.next(3) == 0 {
            let second = facilities[random.next(FACILITIES)].clone();
            if !scope.contains(&second) {
                scope.push(second);
            }
        }
        let open = new_assignment(
            &org.id,
            NewAssignment {
                user_id: people[random.next(PEOPLE)].clone(),
                training_module_id: modules[random.next(MODULES)].clone(),
                due_date: created.plus_days(30).date(),
                notes: (n % 4 == 0).then(|| "Annual CIP-004 requirement, per HR ticket".to_string()),
                facility_ids: scope,
            },
            &org.admin_id,
            created,
        );
        let assignment = match random.next(10) {
            0 => waive(
                &open,
                "Access not granted, \"role changed\"",
                &org.admin_id,
                created.plus_days(3),
            )
            .unwrap(),
            1..=6 => {
                let completion = Completion {
                    completed_at: created.plus_days(5),
                    score: Some(60 + random.next(41) as u8),
                    certificate_reference: Some(format!("LMS-{n:07}")),
                    source_statement_id: None,
                };
                let at = created.plus_days(6);
                complete(&open, completion, &org.admin_id, Some(365), at).unwrap()
            }
            _ => open,
        };
        batch.push(assignment);
        if batch.len() == 1000 || n + 1 == rows {
            store::training_assignments::import_batch(api.store(), &batch)
                .await
                .expect("seed a batch");
            written += batch.len();
            batch.clear();
            if written % 10_000 == 0 {
                eprintln!("  seeded {written} assignments");
            }
        }
    }
    written
}

/// Each export the benchmark can run: its name for `--only`, the format, gzip or not.
const EXPORTS: [(&str, &str, bool); 3] = [
    ("csv", "csv", false),
    ("csv.gz", "csv", true),
    ("json.gz", "json", true),
];

struct Figures {
    rows: String,
    kind: &'static str,
    bytes: usize,
    seconds: f64,
    cpu_seconds: f64,
    peak_mib: f64,
}

async fn export(api: &TestApi, key: &str, query: &str, gzip: bool) -> Figures {
    let path = format!("/training-assignments/export{query}");
    let headers: &[(&str, &str)] = if gzip { &[("Accept-Encoding", "gzip")] } else { &[] };
    reset_peak();
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let answer = api.call_with_headers("GET", &path, Some(key), None, headers).await;
    // The handler's CPU (and the SDK's): not the benchmark's own download below.
    let handler_cpu = cpu_seconds() - cpu_before;
    let (kind, bytes, rows) = match answer.status {
        200 => (
            "inline",
            answer.raw.len(),
            answer.headers["x-export-rows"].to_str().unwrap().to_string(),
        ),
        303 => {
            let link = answer.headers["location"].to_str().unwrap().to_string();
            let mut file = Vec::new();
            ureq::get(&link)
                .call()
                .expect("the presigned link answers")
                .into_body()
                .into_reader()
                .read_to_end(&mut file)
                .unwrap();
            ("S3 link", file.len(), answer.body["rows"].to_string())
        }
        status => panic!("export answered {status}: {}", answer.body),
    };
    Figures {
        rows,
        kind,
        bytes,
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: handler_cpu,
        peak_mib: status_kib("VmHWM:") as f64 / 1024.0,
    }
}

// One thread, as the function runs it (its main is `current_thread`).
#[tokio::main(flavor = "current_thread")]
async fn main() {
    // No transparent huge pages for mimalloc's arenas (functions/training-assignments/src/main.rs).
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    let mut rows = 100_000;
    // CPU figures of one export vary by a tenth from run to run: `--rounds 3` repeats each
    // export over the same rows.
    let mut rounds = 1;
    let mut exports = EXPORTS.to_vec();
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        match argument.as_str() {
            "--rows" => rows = arguments.next().and_then(|n| n.parse().ok()).expect("--rows N"),
            "--rounds" => rounds = arguments.next().and_then(|n| n.parse().ok()).expect("--rounds N"),
            "--only" => {
                let names = arguments.next().expect("--only csv,csv.gz,json.gz");
                exports = names
                    .split(',')
                    .map(|name| {
                        *EXPORTS
                            .iter()
                            .find(|export| export.0 == name)
                            .unwrap_or_else(|| panic!("unknown export {name}: csv, csv.gz or json.gz"))
                    })
                    .collect();
            }
            other => panic!(
                "unknown argument {other}; usage: export-bench [--rows N] [--rounds N] [--only csv,csv.gz,json.gz]"
            ),
        }
    }
    let mut api = TestApi::new().await;
    // The emulator's Query reads its whole partition for every page (DynamoDB reads one
    // page): the 25 s budget of a request through API Gateway does not apply here.
    api.exporting.export_time_budget = std::time::Duration::from_secs(3600);
    let org = api.new_organization().await;
    eprintln!("Seeding {rows} assignments ({PEOPLE} people, {MODULES} modules, {FACILITIES} facilities) ...");
    let started = Instant::now();
    let seeded = seed(&api, &org, rows).await;
    eprintln!("  seeded {seeded} in {:.0} s", started.elapsed().as_secs_f64());
    let baseline = status_kib("VmRSS:") as f64 / 1024.0;
    println!(
        "export of {seeded} training assignments, {} (emulator: moto on 127.0.0.1)",
        Date::today()
    );
    println!("process RSS before the exports: {baseline:.1} MiB");
    println!(
        "{:<6} {:<6} {:>8} {:<8} {:>12} {:>8} {:>8} {:>10}",
        "format", "gzip", "rows", "answer", "bytes", "wall s", "CPU s", "peak MiB"
    );
    let mut raw_csv = 0;
    let exports = exports
        .into_iter()
        .flat_map(|export| std::iter::repeat_n(export, rounds));
    for (_, format, gzip) in exports {
        let figures = export(&api, &org.admin_key, &format!("?format={format}"), gzip).await;
        if format == "csv" && !gzip {
            raw_csv = figures.bytes;
        }
        let ratio = if gzip && format == "csv" && figures.bytes > 0 && raw_csv > 0 {
            format!("  ({:.1}x smaller)", raw_csv as f64 / figures.bytes as f64)
        } else {
            String::new()
        };
        println!(
            "{:<6} {:<6} {:>8} {:<8} {:>12} {:>8.1} {:>8.2} {:>10.1}{ratio}",
            format,
            gzip,
            figures.rows,
            figures.kind,
            figures.bytes,
            figures.seconds,
            figures.cpu_seconds,
            figures.peak_mib
        );
    }
}
