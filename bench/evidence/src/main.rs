//! The evidence package benchmark (issue 24; not a test: it prints figures). Seeds an
//! organization with `--members` members (default 10,000) and `--assignments` training
//! assignments (default 100,000) in the local emulator, asks for a package through the API
//! with a sample of `--sample` people, and runs the real builder once: wall time, this
//! process's CPU time (the builder's own work; the emulator is another process), peak
//! memory, the zip's size and its files. Run by `scripts/bench-evidence`.

use std::time::Instant;

use integration_tests::measure::{Lcg, cpu_seconds, reset_peak, status_kib};
use integration_tests::{TestApi, TestOrg};
use raptor_shared::ids::{TrainingModuleId, UserId};
use raptor_shared::model::roles::{RoleRef, SystemRole};
use raptor_shared::model::training_assignments::{
    Completion, NewAssignment, TrainingAssignment, complete, new_assignment, waive,
};
use raptor_shared::model::users::{Member, MemberStatus};
use raptor_shared::operations::audit_digests;
use raptor_shared::operations::evidence_builder::{self, Builder};
use raptor_shared::store;
use raptor_shared::time::Timestamp;
use raptor_shared::validation::{DisplayName, Email};
use serde_json::json;

const MODULES: usize = 8;
/// Members written per import while seeding (each is 2 items).
const MEMBERS_PER_WRITE: usize = 500;

async fn seed_members(api: &TestApi, org: &TestOrg, count: usize) -> Vec<UserId> {
    let now = api.clock().now();
    let mut people = Vec::with_capacity(count);
    let mut batch = Vec::with_capacity(MEMBERS_PER_WRITE);
    for n in 0..count {
        let member = Member {
            user_id: UserId::new(),
            organization_id: org.id.clone(),
            organization_name: org.name.clone(),
            email: Email::parse("email", &format!("person{n}@utility.example")).unwrap(),
            display_name: DisplayName::parse("displayName", &format!("Person {n}, Ñúñez \"Crew {}\"", n % 7)).unwrap(),
            title: (n % 3 == 0).then(|| "Substation technician".to_string()),
            external_id: Some(format!("HR-{n:06}")),
            roles: vec![RoleRef::System(SystemRole::Viewer)],
            status: if n % 50 == 0 {
                MemberStatus::Suspended
            } else {
                MemberStatus::Active
            },
            created_at: now.minus_days(400),
            updated_at: now.minus_days(400),
            deleted_at: None,
            facility_ids: Vec::new(),
            group_ids: Vec::new(),
            profile: Default::default(),
            version: 1,
        };
        people.push(member.user_id.clone());
        batch.push(member);
        if batch.len() == MEMBERS_PER_WRITE || n + 1 == count {
            store::members::import_batch(api.store(), &batch)
                .await
                .expect("seed members");
            batch.clear();
            if people.len() % 2000 == 0 {
                eprintln!("  seeded {} members", people.len());
            }
        }
    }
    people
}

async fn seed_assignments(api: &TestApi, org: &TestOrg, people: &[UserId], rows: usize) -> usize {
    let key = &org.admin_key;
    let mut modules = Vec::new();
    for n in 0..MODULES {
        let body = json!({ "title": format!("CIP-004 module {n}: role-based training"), "cipStandard": "CIP-004", "completionIntervalDays": 365 });
        let module = api.post("/training-modules", key, body).await.expect(201);
        modules.push(TrainingModuleId::parse("id", module["id"].as_str().unwrap()).unwrap());
    }
    let mut random = Lcg(42);
    let now = api.clock().now();
    let mut batch: Vec<TrainingAssignment> = Vec::with_capacity(1000);
    let mut written = 0;
    for n in 0..rows {
        let created = now.minus_days(1 + random.next(380) as u32);
        let open = new_assignment(
            &org.id,
            NewAssignment {
                user_id: people[random.next(people.len())].clone(),
                training_module_id: modules[random.next(MODULES)].clone(),
                due_date: created.plus_days(30).date(),
                notes: (n % 4 == 0).then(|| "Annual CIP-004 requirement, per HR ticket".to_string()),
                facility_ids: Vec::new(),
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
                complete(&open, completion, &org.admin_id, Some(365), created.plus_days(6)).unwrap()
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

#[tokio::main]
async fn main() {
    let (mut members, mut assignments, mut sample) = (10_000, 100_000, 20);
    let mut arguments = std::env::args().skip(1);
    while let Some(argument) = arguments.next() {
        let mut number = || arguments.next().and_then(|n| n.parse().ok()).expect("a number");
        match argument.as_str() {
            "--members" => members = number(),
            "--assignments" => assignments = number(),
            "--sample" => sample = number(),
            other => {
                panic!("unknown argument {other}; usage: evidence-bench [--members N] [--assignments M] [--sample K]")
            }
        }
    }
    let api = TestApi::new().await;
    let org = api.new_organization().await;
    eprintln!("Seeding {members} members and {assignments} assignments ...");
    let started = Instant::now();
    let people = seed_members(&api, &org, members).await;
    let seeded = seed_assignments(&api, &org, &people, assignments).await;
    api.post(
        "/cip-senior-manager-assignments",
        &org.admin_key,
        json!({ "userId": org.admin_id.to_string(), "effectiveDate": api.clock().today().to_string() }),
    )
    .await
    .expect(201);
    eprintln!("  seeded in {:.0} s", started.elapsed().as_secs_f64());

    let today = api.clock().today().to_string();
    let sampled: Vec<String> = people
        .iter()
        .step_by((people.len() / sample.max(1)).max(1))
        .take(sample)
        .map(ToString::to_string)
        .collect();
    let asked = api
        .post(
            "/evidence-packages",
            &org.admin_key,
            json!({ "asOf": today, "from": api.clock().now().minus_days(30).date().to_string(), "to": today, "sample": { "userIds": sampled } }),
        )
        .await
        .expect(202);
    let later = Timestamp::from_millis(api.clock().now().millis() + 6_000);
    audit_digests::run(api.store(), &api.audit.signer, later)
        .await
        .expect("the digest job");

    let bucket = api.audit.exports.as_ref().expect("the exports bucket");
    let builder = Builder {
        store: api.store(),
        signer: &api.audit.signer,
        bucket,
        renewal_window_days: api.app.renewal_window_days,
    };
    let baseline = status_kib("VmRSS:") as f64 / 1024.0;
    reset_peak();
    let started = Instant::now();
    let cpu_before = cpu_seconds();
    let report = evidence_builder::run(&builder).await.expect("a builder run");
    let seconds = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu_before;
    let peak = status_kib("VmHWM:") as f64 / 1024.0;
    assert_eq!(report.built.len(), 1, "{report:?}");
    let package = api
        .get(
            &format!("/evidence-packages/{}", asked["id"].as_str().unwrap()),
            &org.admin_key,
        )
        .await
        .expect(200);
    let bytes = package["bytes"].as_u64().unwrap_or(0);
    let files = package["files"].as_array().cloned().unwrap_or_default();
    let unpacked: u64 = files.iter().filter_map(|file| file["bytes"].as_u64()).sum();
    println!(
        "evidence package of {members} members, {seeded} assignments, a sample of {sample}, {} (emulator: moto on 127.0.0.1)",
        api.clock().today()
    );
    println!("process RSS before the build: {baseline:.1} MiB");
    println!("wall s {seconds:.1}   CPU s {cpu:.2}   peak RSS MiB {peak:.1}");
    println!(
        "zip {bytes} bytes ({:.1} MiB), {} files, {unpacked} bytes unpacked ({:.1}x smaller)",
        bytes as f64 / 1_048_576.0,
        files.len() + 1,
        unpacked as f64 / bytes.max(1) as f64
    );
    println!(
        "per assignment: {:.1} µs CPU, {:.1} bytes zipped",
        cpu * 1e6 / seeded.max(1) as f64,
        bytes as f64 / seeded.max(1) as f64
    );
    for file in files.iter().filter(|file| {
        file["name"]
            .as_str()
            .is_some_and(|name| name.starts_with("populations/") || name.starts_with("audit/"))
    }) {
        println!(
            "  {:<45} {:>12} bytes {:>8} rows",
            file["name"].as_str().unwrap(),
            file["bytes"],
            file["rows"]
        );
    }
}
