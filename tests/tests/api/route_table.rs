//! The route table in `shared/src/routes.rs`, the API Gateway routes of
//! `infra/template.yaml`, the `cargo lambda watch` router of `Cargo.toml` and each
//! function's dispatch must all agree.

use std::collections::BTreeSet;

use integration_tests::{TestApi, api_gateway_event};
use raptor_shared::routes::{Function, ROUTES};
use serde_norway::Value as Yaml;

type RouteSet = BTreeSet<(String, String, String)>;

fn route_table() -> RouteSet {
    ROUTES
        .iter()
        .map(|route| {
            (
                route.method.to_string(),
                route.path.to_string(),
                route.operation.function().binary().to_string(),
            )
        })
        .collect()
}

fn workspace_file(path: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::fs::read_to_string(format!("{root}/{path}")).unwrap_or_else(|error| panic!("read {path}: {error}"))
}

fn template_routes() -> RouteSet {
    let template: Yaml = serde_norway::from_str(&workspace_file("infra/template.yaml")).expect("template parses");
    let mut routes = RouteSet::new();
    let resources = template["Resources"].as_mapping().expect("Resources");
    for (_, resource) in resources {
        if resource["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .expect("each function names its binary");
        assert_eq!(resource["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
        let Some(events) = resource["Properties"]["Events"].as_mapping() else {
            continue;
        };
        for (_, event) in events {
            if event["Type"].as_str() != Some("HttpApi") {
                continue;
            }
            let properties = &event["Properties"];
            routes.insert((
                properties["Method"].as_str().expect("Method").to_uppercase(),
                properties["Path"].as_str().expect("Path").to_string(),
                binary.to_string(),
            ));
        }
    }
    routes
}

fn watch_router_routes() -> RouteSet {
    let manifest: toml::Table = workspace_file("Cargo.toml").parse().expect("Cargo.toml parses");
    let router = manifest["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .expect("watch router");
    let mut routes = RouteSet::new();
    for (path, targets) in router {
        // A function for every method of the path: the route table's methods of it, or
        // `ANY` for a catch-all (`{*name}` in this router, `{name+}` in API Gateway).
        if let Some(function) = targets.as_str() {
            let (gateway_path, methods) = match path.split_once("{*") {
                Some((prefix, name)) => (format!("{prefix}{{{}+}}", name.trim_end_matches('}')), vec!["ANY"]),
                None => (
                    path.clone(),
                    ROUTES
                        .iter()
                        .filter(|route| route.path == path)
                        .map(|route| route.method)
                        .collect(),
                ),
            };
            assert!(!methods.is_empty(), "{path} serves no route of the route table");
            for method in methods {
                routes.insert((method.to_string(), gateway_path.clone(), function.to_string()));
            }
            continue;
        }
        for target in targets.as_array().expect("a function, or a list of {method, function}") {
            routes.insert((
                target["method"].as_str().expect("method").to_string(),
                path.clone(),
                target["function"].as_str().expect("function").to_string(),
            ));
        }
    }
    routes
}

#[test]
fn the_template_serves_exactly_the_route_table_with_the_named_functions() {
    assert_eq!(template_routes(), route_table());
}

#[test]
fn the_local_router_serves_exactly_the_route_table_with_the_named_functions() {
    assert_eq!(watch_router_routes(), route_table());
}

#[test]
fn every_function_is_a_template_resource_and_a_workspace_binary() {
    let template: Yaml = serde_norway::from_str(&workspace_file("infra/template.yaml")).expect("template parses");
    for function in Function::ALL {
        let resource = &template["Resources"][function.template_resource()];
        assert_eq!(
            resource["Type"].as_str(),
            Some("AWS::Serverless::Function"),
            "{}",
            function.template_resource()
        );
        assert_eq!(
            resource["Metadata"]["BuildProperties"]["Binary"].as_str(),
            Some(function.binary())
        );
        let manifest = workspace_file(&format!("functions/{}/Cargo.toml", function.binary()));
        assert!(
            manifest.contains(&format!("name = \"{}\"", function.binary())),
            "{}",
            function.binary()
        );
    }
}

/// Deliveries to loopback are for the local run and the tests only: no deployed function
/// is given the switch, and the sender's timeout leaves room for a 10-second attempt.
#[test]
fn no_deployed_function_may_send_webhooks_to_loopback() {
    let template: Yaml = serde_norway::from_str(&workspace_file("infra/template.yaml")).expect("template parses");
    let everywhere = &template["Globals"]["Function"]["Environment"]["Variables"];
    assert!(everywhere.get("WEBHOOK_ALLOW_LOOPBACK").is_none());
    for (name, resource) in template["Resources"].as_mapping().expect("resources") {
        let variables = &resource["Properties"]["Environment"]["Variables"];
        assert!(
            variables.get("WEBHOOK_ALLOW_LOOPBACK").is_none(),
            "{name:?} allows loopback"
        );
    }
    let sender = &template["Resources"]["WebhookSenderFunction"]["Properties"];
    assert!(
        sender["Timeout"].as_u64().is_some_and(|seconds| seconds > 10),
        "{sender:?}"
    );
    assert!(
        !sender["Environment"]["Variables"]["WEBHOOK_QUEUE_URL"].is_null(),
        "the sender names its queue"
    );
}

/// The training requirements' engine hears of exactly the actions it reacts to: the
/// template's FilterCriteria and the local run's stand-in name the same ones.
#[test]
fn the_engines_event_filters_name_the_actions_it_reacts_to() {
    use raptor_shared::operations::training_requirements::ENGINE_ACTIONS;
    let expected: BTreeSet<String> = ENGINE_ACTIONS.iter().map(|action| action.to_string()).collect();
    let template: Yaml = serde_norway::from_str(&workspace_file("infra/template.yaml")).expect("template parses");
    let events = &template["Resources"]["TrainingRulesFunction"]["Properties"]["Events"];
    let pattern = events["PeopleAndRequirementsChanged"]["Properties"]["FilterCriteria"]["Filters"][0]["Pattern"]
        .as_str()
        .expect("the filter's pattern");
    let pattern: serde_json::Value = serde_json::from_str(pattern).expect("the pattern is JSON");
    let filtered: BTreeSet<String> = pattern["dynamodb"]["NewImage"]["action"]["S"]
        .as_array()
        .expect("a list of actions")
        .iter()
        .map(|action| action.as_str().unwrap().to_string())
        .collect();
    assert_eq!(filtered, expected, "infra/template.yaml");
    let local = workspace_file("scripts/local_event_sources.py");
    let (_, after) = local.split_once("TRAINING_RULES_ACTIONS = {").expect("the local set");
    let (set, _) = after.split_once('}').expect("the set's end");
    let listed: BTreeSet<String> = set
        .split(',')
        .map(|item| item.trim().trim_matches('"').to_string())
        .filter(|item| !item.is_empty())
        .collect();
    assert_eq!(listed, expected, "scripts/local_event_sources.py");
}

/// Each function answers its own routes (here 401: it reached authentication) and none of
/// another function's (404), so the route table is what every dispatch follows.
#[tokio::test]
async fn each_function_handles_its_own_routes_and_only_those() {
    let api = TestApi::new().await;
    for route in ROUTES {
        // SCIM's discovery documents are named by their own ids.
        let id = match route.path {
            "/scim/v2/ResourceTypes/{id}" => "User",
            "/scim/v2/Schemas/{id}" => "urn:ietf:params:scim:schemas:core:2.0:User",
            _ => "usr_01hx2m7k3q9v8c6b5n4m3k2j1h",
        };
        let path = route.path.replace("{id}", id);
        // The last-resort route, as a method its path does not serve.
        let (method, path) = match route.method {
            "ANY" => ("PUT", "/scim/v2/ServiceProviderConfig".to_string()),
            method => (method, path),
        };
        for function in Function::ALL {
            let event = api_gateway_event(method, &path, None, None);
            let request = lambda_http::request::from_str(&event.to_string()).unwrap();
            let status = api.invoke(function, request).await.status().as_u16();
            // A route of the function: no key is 401, except on the public routes, which
            // take none and refuse the missing token or body instead (the OpenAPI
            // document, the reference page and its script need neither).
            let expected = match (function == route.operation.function(), route.public) {
                (true, _) if route.method == "ANY" => 405,
                (true, false) => 401,
                (true, true) if route.method == "GET" && route.query.is_empty() => 200,
                (true, true) => 400,
                (false, _) => 404,
            };
            assert_eq!(
                status,
                expected,
                "{} {} sent to {}",
                route.method,
                route.path,
                function.binary()
            );
        }
    }
}
