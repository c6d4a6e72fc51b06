//! An organization set up for training tests: a person, the seed's module and two
//! facilities, and the helpers the training tests share.

use integration_tests::{TestApi, TestOrg};
use raptor_shared::time::Timestamp;
use serde_json::{Value, json};

/// A due date `days` from today (UTC), as the API writes dates.
pub fn due_in(days: u32) -> String {
    Timestamp::now().plus_days(days).date().to_string()
}

pub fn keys_of(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

pub fn id_of(object: &Value) -> String {
    object["id"].as_str().unwrap().to_string()
}

/// An organization with the seed's module, a person to train and two facilities.
pub struct Program {
    pub org: TestOrg,
    pub user: String,
    pub module: String,
    pub alpha: String,
    pub beta: String,
}

pub async fn program(api: &TestApi) -> Program {
    let org = api.new_organization().await;
    let user = api.create_user(&org, "trainee@utility.example", "Terry Trainee").await;
    let module = api
        .post(
            "/training-modules",
            &org.admin_key,
            json!({
                "title": "CIP-004 Cyber Security Awareness Training",
                "cipStandard": "CIP-004",
                "completionIntervalDays": 365,
            }),
        )
        .await
        .expect(201);
    let mut facilities = Vec::new();
    for name in ["Substation Alpha", "Substation Beta"] {
        let facility = api
            .post("/facilities", &org.admin_key, json!({ "name": name }))
            .await
            .expect(201);
        facilities.push(id_of(&facility));
    }
    Program {
        org,
        user,
        module: id_of(&module),
        alpha: facilities[0].clone(),
        beta: facilities[1].clone(),
    }
}

pub async fn assign(api: &TestApi, program: &Program, due_date: &str) -> Value {
    api.post(
        "/training-assignments",
        &program.org.admin_key,
        json!({ "userId": program.user, "trainingModuleId": program.module, "dueDate": due_date }),
    )
    .await
    .expect(201)
}

/// A key of the organization's admin that holds only `permissions`.
pub async fn scoped_key(api: &TestApi, org: &TestOrg, permissions: &[&str]) -> String {
    let created = api
        .post(
            "/api-keys",
            &org.admin_key,
            json!({ "name": "directory sync", "permissions": permissions }),
        )
        .await
        .expect(201);
    created["secret"].as_str().unwrap().to_string()
}
