//! Webhook endpoints: parse → authenticate → authorize → command → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::WebhooksApp;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::{EventId, WebhookEndpointId};
use raptor_shared::model::webhooks::DeliveryStatus;
use raptor_shared::operations::authentication::authenticate;
use raptor_shared::operations::webhooks;
use raptor_shared::rest::{self, webhooks::WebhookDeliveryView};
use raptor_shared::routes::{self, Function, Operation, WebhooksOperation as Op};

pub async fn handle(app: &WebhooksApp, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &WebhooksApp, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::Webhooks, request)?;
    let Operation::Webhooks(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.app.store;
    let principal = authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    let id = || WebhookEndpointId::parse("id", route.param("id")?);
    let policy = app.policy();
    match operation {
        Op::ListWebhookEndpoints => {
            let page = query.page(principal.org(), "webhook-endpoints".into())?;
            Reply::ok(&rest::webhooks::list(store, &principal, &page).await?)
        }
        Op::CreateWebhookEndpoint => {
            idempotency::for_caller(store, request, &principal, async {
                let body = http::json_body(request)?;
                Reply::created(&rest::webhooks::create(store, &principal, policy, body).await?)
            })
            .await
        }
        Op::GetWebhookEndpoint => Reply::ok(&rest::webhooks::get(store, &principal, &id()?).await?),
        Op::UpdateWebhookEndpoint => {
            let body = http::json_body(request)?;
            Reply::ok(&rest::webhooks::update(store, &principal, policy, &id()?, body).await?)
        }
        Op::DeleteWebhookEndpoint => {
            webhooks::delete_endpoint(store, &principal, &id()?).await?;
            Ok(Reply::no_content())
        }
        Op::RotateWebhookSecret => {
            idempotency::for_caller(store, request, &principal, async {
                let body = http::json_body_or_empty(request)?;
                Reply::ok(&rest::webhooks::rotate_secret(store, &principal, &id()?, body).await?)
            })
            .await
        }
        Op::ListWebhookDeliveries => {
            let id = id()?;
            let status = query
                .non_empty("status")?
                .map(|text| DeliveryStatus::parse("status", text))
                .transpose()?;
            let fingerprint = format!(
                "webhook-endpoints/{id}/deliveries?status={}",
                status.map(DeliveryStatus::as_str).unwrap_or_default()
            );
            let page = query.page(principal.org(), fingerprint)?;
            Reply::ok(&rest::webhooks::list_deliveries(store, &principal, &id, status, &page).await?)
        }
        Op::ResendWebhookDelivery => {
            idempotency::for_caller(store, request, &principal, async {
                let event_id = EventId::parse("eventId", route.param("eventId")?)?;
                let delivery = webhooks::resend_delivery(store, &principal, &id()?, &event_id).await?;
                Reply::json(202, &WebhookDeliveryView::of(&delivery))
            })
            .await
        }
    }
}
