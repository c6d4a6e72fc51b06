//! Facilities: parse → authenticate → authorize → domain → response.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::FacilityId;
use raptor_shared::operations::facilities;
use raptor_shared::pagination::ListPage;
use raptor_shared::rest::users::UserView;
use raptor_shared::rest::{self, facilities::FacilityView};
use raptor_shared::routes::{self, FacilitiesOperation, Function, Operation};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::Facilities, request)?;
    let Operation::Facilities(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = raptor_shared::operations::authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    let id = || FacilityId::parse("id", route.param("id")?);
    match operation {
        FacilitiesOperation::ListFacilities => {
            let page = query.page(principal.org(), "facilities".into())?;
            Reply::ok(&rest::facilities::list(store, &principal, &page).await?)
        }
        FacilitiesOperation::CreateFacility => {
            idempotency::for_caller(store, request, &principal, async {
                Reply::created(&rest::facilities::create(store, &principal, http::json_body(request)?).await?)
            })
            .await
        }
        FacilitiesOperation::GetFacility => Reply::ok(&FacilityView::of(
            &facilities::get_facility(store, &principal, &id()?).await?,
        )),
        FacilitiesOperation::UpdateFacility => {
            let input = http::json_body(request)?;
            Reply::ok(&rest::facilities::update(store, &principal, &id()?, input).await?)
        }
        FacilitiesOperation::ListFacilityMembers => {
            let id = id()?;
            let page = query.page(principal.org(), format!("facilities/{id}/members"))?;
            let members = facilities::list_facility_members(store, &principal, &id, &page).await?;
            Reply::ok(&ListPage {
                data: members
                    .data
                    .iter()
                    .map(|member| UserView::of(member, &principal.roles))
                    .collect(),
                next_cursor: members.next_cursor,
            })
        }
        FacilitiesOperation::DeleteFacility => Reply::ok(&FacilityView::of(
            &facilities::delete_facility(store, &principal, &id()?).await?,
        )),
    }
}
