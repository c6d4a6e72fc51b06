//! The committed OpenAPI document is what the code generates, and it describes exactly
//! the routes of the route table (but SCIM's last-resort `ANY /scim/v2/{proxy+}`, which
//! OpenAPI has no method for).

use std::collections::BTreeSet;

use raptor_shared::openapi;
use raptor_shared::routes::ROUTES;

#[test]
fn the_committed_document_is_what_the_code_generates() {
    assert!(
        openapi::DOCUMENT == openapi::document_json(),
        "docs/openapi.json is stale: run `cargo run -p raptor-shared --bin openapi > docs/openapi.json`"
    );
}

#[test]
fn every_route_has_one_operation_and_every_operation_a_route() {
    let document: serde_json::Value = serde_json::from_str(openapi::DOCUMENT).expect("JSON");
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            if ["get", "post", "patch", "put", "delete"].contains(&method.as_str()) {
                let id = operation["operationId"].as_str().expect("an operationId");
                documented.insert((method.to_uppercase(), path.clone(), id.to_string()));
            }
        }
    }
    let routed: BTreeSet<(String, String, String)> = ROUTES
        .iter()
        .filter(|route| !route.outside_openapi)
        .map(|route| {
            (
                route.method.to_string(),
                route.path.to_string(),
                route.operation_id.to_string(),
            )
        })
        .collect();
    assert_eq!(documented, routed);
}

#[test]
fn public_routes_and_only_they_need_no_api_key() {
    let document: serde_json::Value = serde_json::from_str(openapi::DOCUMENT).expect("JSON");
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["components"]["securitySchemes"]["ApiKey"]["name"], "X-API-Key");
    for route in ROUTES.iter().filter(|route| !route.outside_openapi) {
        let operation = &document["paths"][route.path][route.method.to_lowercase()];
        let open = operation["security"].as_array().is_some_and(Vec::is_empty);
        assert_eq!(open, route.public, "{} {}", route.method, route.path);
    }
}
