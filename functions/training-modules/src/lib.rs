//! Training modules: parse → authenticate → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::TrainingModuleId;
use raptor_shared::operations::training_modules as modules;
use raptor_shared::rest::{self, training_modules::TrainingModuleView};
use raptor_shared::routes::{self, Function, Operation, TrainingModulesOperation};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::TrainingModules, request)?;
    let Operation::TrainingModules(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = raptor_shared::operations::authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    let id = || TrainingModuleId::parse("id", route.param("id")?);
    match operation {
        TrainingModulesOperation::GetTrainingModules => {
            let include_retired = query.flag("includeRetired")?;
            let page = query.page(
                principal.org(),
                format!("training-modules?includeRetired={include_retired}"),
            )?;
            Reply::ok(&rest::training_modules::list(store, &principal, include_retired, &page).await?)
        }
        TrainingModulesOperation::CreateTrainingModule => {
            idempotency::for_caller(store, request, &principal, async {
                Reply::created(&rest::training_modules::create(store, &principal, http::json_body(request)?).await?)
            })
            .await
        }
        TrainingModulesOperation::GetTrainingModule => Reply::ok(&TrainingModuleView::of(
            &modules::get_module(store, &principal, &id()?).await?,
        )),
        TrainingModulesOperation::UpdateTrainingModule => {
            let input = http::json_body(request)?;
            Reply::ok(&rest::training_modules::update(store, &principal, &id()?, input).await?)
        }
        TrainingModulesOperation::DeleteTrainingModule => Reply::ok(&TrainingModuleView::of(
            &modules::retire_module(store, &principal, &id()?).await?,
        )),
    }
}
