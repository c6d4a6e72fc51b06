//! Invitations: parse → authenticate (except validate and accept, which the invitee calls
//! with the token instead of a key) → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::InvitationsApp;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::InvitationId;
use raptor_shared::model::invitations::InvitationFilter;
use raptor_shared::operations::authentication;
use raptor_shared::rest::invitations;
use raptor_shared::routes::{self, Function, InvitationsOperation, Operation};
use serde_json::{Value, json};

pub async fn handle(app: &InvitationsApp, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &InvitationsApp, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::Invitations, request)?;
    let Operation::Invitations(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.app.store;
    if route.route.public {
        let query = route.query(request)?;
        return match operation {
            InvitationsOperation::ValidateInvitation => {
                Reply::ok(&invitations::validate(store, query.get("token")).await?)
            }
            InvitationsOperation::AcceptInvitation => {
                // A key is optional here: with one, the invitee joins their own account.
                let principal = match http::api_key(request)? {
                    Some(key) => Some(authentication::authenticate(store, Some(key)).await?),
                    None => None,
                };
                idempotency::for_public(store, request, async {
                    let input = http::json_body(request)?;
                    Reply::created(&invitations::accept(store, principal.as_ref(), input).await?)
                })
                .await
            }
            _ => Err(ApiError::internal("a public route without a public operation")),
        };
    }
    let keys = http::api_keys(request)?;
    let principal = authentication::authenticate(store, keys.first().copied()).await?;
    let keys_elsewhere = &keys[keys.len().min(1)..];
    if !keys_elsewhere.is_empty() && operation != InvitationsOperation::CreateInvitation {
        return Err(ApiError::validation(
            "X-API-Key",
            "only a batch of invitations takes more than one key",
        ));
    }
    let query = route.query(request)?;
    match operation {
        InvitationsOperation::ListInvitations => {
            let filter = InvitationFilter::parse(query.non_empty("status")?, query.non_empty("email")?)?;
            let page = query.page(principal.org(), filter.fingerprint())?;
            Reply::ok(&invitations::list(store, &principal, &filter, &page).await?)
        }
        InvitationsOperation::CreateInvitation => {
            idempotency::for_caller(store, request, &principal, async {
                let mut body: Value = http::json_body(request)?;
                match body.get_mut("invitations").map(Value::take) {
                    Some(Value::Array(items)) if body.as_object().is_some_and(|fields| fields.len() == 1) => {
                        let mut others = Vec::with_capacity(keys_elsewhere.len());
                        for key in keys_elsewhere {
                            others.push(authentication::authenticate(store, Some(key)).await?);
                        }
                        let results =
                            invitations::create_batch(store, &app.outbox(), &principal, &others, items).await?;
                        Reply::ok(&json!({ "results": results }))
                    }
                    Some(_) => Err(ApiError::validation(
                        "invitations",
                        "a batch is {\"invitations\": [ ... ]} with nothing beside it",
                    )),
                    None if !keys_elsewhere.is_empty() => Err(ApiError::validation(
                        "X-API-Key",
                        "only a batch of invitations takes more than one key",
                    )),
                    None => {
                        let input = raptor_shared::json::from_value(body)?;
                        Reply::created(&invitations::create(store, &app.outbox(), &principal, input).await?)
                    }
                }
            })
            .await
        }
        InvitationsOperation::CancelInvitation => {
            let id = InvitationId::parse("id", route.param("id")?)?;
            Reply::ok(&invitations::cancel(store, &principal, &id).await?)
        }
        InvitationsOperation::ResendInvitation => {
            idempotency::for_caller(store, request, &principal, async {
                let id = InvitationId::parse("id", route.param("id")?)?;
                Reply::ok(&invitations::resend(store, &app.outbox(), &principal, &id).await?)
            })
            .await
        }
        InvitationsOperation::ValidateInvitation | InvitationsOperation::AcceptInvitation => {
            Err(ApiError::internal("a public operation on a route that needs a key"))
        }
    }
}
