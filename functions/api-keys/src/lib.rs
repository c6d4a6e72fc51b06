//! API keys: parse → authenticate → authorize → domain → response. Nothing else lives here.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::ApiKeyId;
use raptor_shared::operations::{api_keys, authentication};
use raptor_shared::rest::{self, api_keys::ApiKeyView};
use raptor_shared::routes::{self, ApiKeysOperation, Function, Operation};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::ApiKeys, request)?;
    let Operation::ApiKeys(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    match operation {
        ApiKeysOperation::ListApiKeys => {
            let page = query.page(principal.org(), "api-keys".into())?;
            Reply::ok(&rest::api_keys::list(store, &principal, &page).await?)
        }
        ApiKeysOperation::CreateApiKey => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body(request)?;
                Reply::created(&rest::api_keys::create(store, &principal, input).await?)
            })
            .await
        }
        ApiKeysOperation::RevokeApiKey => {
            let id = ApiKeyId::parse("id", route.param("id")?)?;
            Reply::ok(&ApiKeyView::of(
                &api_keys::revoke_api_key(store, &principal, &id).await?,
            ))
        }
    }
}
