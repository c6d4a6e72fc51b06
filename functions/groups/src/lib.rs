//! Groups: parse → authenticate → authorize → domain → response. Nothing else lives here.

use lambda_http::{Body, Request, Response};
use raptor_shared::app::App;
use raptor_shared::error::{ApiError, ApiResult};
use raptor_shared::http::{self, Reply};
use raptor_shared::idempotency;
use raptor_shared::ids::{GroupId, UserId};
use raptor_shared::operations::{authentication, groups};
use raptor_shared::pagination::ListPage;
use raptor_shared::rest::users::UserView;
use raptor_shared::rest::{self, groups::GroupView};
use raptor_shared::routes::{self, Function, GroupsOperation, Operation};

pub async fn handle(app: &App, request: Request) -> Response<Body> {
    http::respond(dispatch(app, &request).await)
}

async fn dispatch(app: &App, request: &Request) -> ApiResult<Reply> {
    let route = routes::match_request(Function::Groups, request)?;
    let Operation::Groups(operation) = route.route.operation else {
        return Err(ApiError::NotFound { resource: "route" });
    };
    let store = &app.store;
    let principal = authentication::authenticate(store, http::api_key(request)?).await?;
    let query = route.query(request)?;
    let id = || GroupId::parse("id", route.param("id")?);
    match operation {
        GroupsOperation::ListGroups => {
            let page = query.page(principal.org(), "groups".into())?;
            Reply::ok(&rest::groups::list(store, &principal, &page).await?)
        }
        GroupsOperation::CreateGroup => {
            idempotency::for_caller(store, request, &principal, async {
                Reply::created(&rest::groups::create(store, &principal, http::json_body(request)?).await?)
            })
            .await
        }
        GroupsOperation::GetGroup => Reply::ok(&GroupView::of(&groups::get_group(store, &principal, &id()?).await?)),
        GroupsOperation::UpdateGroup => {
            let input = http::json_body(request)?;
            Reply::ok(&rest::groups::update(store, &principal, &id()?, input).await?)
        }
        GroupsOperation::DeleteGroup => Reply::ok(&GroupView::of(
            &groups::delete_group(store, &principal, &id()?, None).await?,
        )),
        GroupsOperation::ListGroupMembers => {
            let id = id()?;
            let page = query.page(principal.org(), format!("groups/{id}/members"))?;
            let members = groups::list_group_members(store, &principal, &id, &page).await?;
            Reply::ok(&ListPage {
                data: members
                    .data
                    .iter()
                    .map(|member| UserView::of(member, &principal.roles))
                    .collect(),
                next_cursor: members.next_cursor,
            })
        }
        GroupsOperation::AddGroupMembers => {
            idempotency::for_caller(store, request, &principal, async {
                let input = http::json_body(request)?;
                Reply::ok(&rest::groups::add_members(store, &principal, &id()?, input).await?)
            })
            .await
        }
        GroupsOperation::RemoveGroupMember => {
            let user = UserId::parse("userId", route.param("userId")?)?;
            Reply::ok(&rest::groups::remove_member(store, &principal, &id()?, &user).await?)
        }
    }
}
