//! The SCIM door: parse → authenticate → authorize → command → SCIM's answer. The
//! translation lives in `raptor_shared::scim`; nothing else lives here.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::ApiError;
use raptor_shared::http;
use raptor_shared::operations::authentication::authenticate;
use raptor_shared::routes::{self, Function, Operation, ScimOperation as Op};
use raptor_shared::scim::{self, Answer, ListQuery, ScimError, discovery, groups, users};
use serde_json::Value;

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(Ok(scim::reply(dispatch(app, &request).await)))
}

/// The body, as JSON of any shape (each resource's parser says what it needs).
fn body(request: &Request) -> Result<Value, ScimError> {
    let bytes = http::utf8_body(request)?;
    serde_json::from_slice(bytes).map_err(|error| ScimError::new(400, Some("invalidSyntax"), error.to_string()))
}

fn if_match(request: &Request) -> Result<Option<u64>, ScimError> {
    match request.headers().get("if-match").map(|value| value.to_str()) {
        None => Ok(None),
        Some(Ok(text)) => Ok(scim::version_in(text)?),
        Some(Err(_)) => Err(ScimError::new(400, Some("invalidValue"), "`If-Match` must be ASCII")),
    }
}

async fn dispatch(app: &App, request: &Request) -> Result<Answer, ScimError> {
    let route = routes::match_request(Function::Scim, request)?;
    let Operation::Scim(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" }.into());
    };
    if operation == Op::NotServed {
        return Err(ScimError::not_served(request.method().as_str(), &http::path(request)));
    }
    let base = scim::base_url(request);
    let id = || route.param("id").map_err(ScimError::from);
    let query = route.query(request)?;
    let list_query = || {
        ListQuery::parse(
            query.get("filter"),
            query.get("startIndex"),
            query.get("count"),
            query.get("attributes"),
            query.get("excludedAttributes"),
        )
    };
    let not_found = |what: &str, id: &str| ScimError::new(404, None, format!("{what} `{id}` not found"));
    match operation {
        Op::GetServiceProviderConfig => return Ok(Answer::ok(discovery::service_provider_config(&base))),
        Op::ListResourceTypes => {
            let types = discovery::resource_types(&base);
            return Ok(Answer::ok(discovery::list_response(types.len(), 1, types)));
        }
        Op::GetResourceType => {
            let id = id()?;
            return discovery::resource_type(&base, id)
                .map(Answer::ok)
                .ok_or_else(|| not_found("resource type", id));
        }
        Op::ListSchemas => {
            let schemas = discovery::schemas(&base);
            return Ok(Answer::ok(discovery::list_response(schemas.len(), 1, schemas)));
        }
        Op::GetSchema => {
            let id = scim::path_text(id()?);
            return discovery::schema(&base, &id)
                .map(Answer::ok)
                .ok_or_else(|| not_found("schema", &id));
        }
        _ => {}
    }
    let store = &app.store;
    let principal = authenticate(store, scim::bearer_token(request)).await?;
    match operation {
        Op::ListUsers => Ok(Answer::ok(users::list(store, &principal, &list_query()?, &base).await?)),
        Op::CreateUser => {
            let member = users::create(store, &principal, &body(request)?).await?;
            Ok(Answer::resource(201, users::resource(&member, &base)))
        }
        Op::GetUser => {
            let member = users::get(store, &principal, id()?).await?;
            let mut user = users::resource(&member, &base);
            let shape = list_query()?;
            scim::project(&mut user, &shape.attributes, &shape.excluded_attributes);
            Ok(Answer::resource(200, user))
        }
        Op::ReplaceUser => {
            let member = users::replace(store, &principal, id()?, &body(request)?, if_match(request)?).await?;
            Ok(Answer::resource(200, users::resource(&member, &base)))
        }
        Op::PatchUser => {
            let member = users::patch(store, &principal, id()?, &body(request)?, if_match(request)?).await?;
            Ok(Answer::resource(200, users::resource(&member, &base)))
        }
        Op::DeleteUser => {
            users::delete(store, &principal, id()?, if_match(request)?).await?;
            Ok(Answer::no_content())
        }
        Op::ListGroups => Ok(Answer::ok(
            groups::list(store, &principal, &list_query()?, &base).await?,
        )),
        Op::CreateGroup => {
            let (group, members) = groups::create(store, &principal, &body(request)?).await?;
            Ok(Answer::resource(201, groups::resource(&group, Some(&members), &base)))
        }
        Op::GetGroup => {
            let group = groups::get(store, &principal, id()?).await?;
            Ok(Answer::resource(
                200,
                groups::shown(store, &principal, &group, &base, &list_query()?).await?,
            ))
        }
        Op::ReplaceGroup => {
            let (group, members) =
                groups::replace(store, &principal, id()?, &body(request)?, if_match(request)?).await?;
            Ok(Answer::resource(200, groups::resource(&group, Some(&members), &base)))
        }
        Op::PatchGroup => {
            let (group, members) = groups::patch(store, &principal, id()?, &body(request)?, if_match(request)?).await?;
            Ok(Answer::resource(200, groups::resource(&group, Some(&members), &base)))
        }
        Op::DeleteGroup => {
            groups::delete(store, &principal, id()?, if_match(request)?).await?;
            Ok(Answer::no_content())
        }
        Op::GetServiceProviderConfig
        | Op::ListResourceTypes
        | Op::GetResourceType
        | Op::ListSchemas
        | Op::GetSchema
        | Op::NotServed => Err(ApiError::internal("a route that takes no key served after authentication").into()),
    }
}
