//! Members: the commands that create, change and (soft) delete the members of the
//! principal's organization, and the reads of them. Every door calls these (REST through
//! `rest::users`); each applies its own authorization to the principal.

use std::collections::BTreeMap;

use crate::error::{ApiError, ApiResult};
use crate::ids::{FacilityId, OrgId, RoleId, UserId};
use crate::model::events::users::{UserCreated, UserDeleted, UserFacilitiesChanged, UserUpdated};
use crate::model::events::{Event, MemberStatusChange, OptionalTextChange, RolesChange, TextChange};
use crate::model::facilities::Facility;
use crate::model::principal::Principal;
use crate::model::roles::RoleRef;
use crate::model::users::{DirectoryProfile, Member, MemberChanges, MemberStatus, NewMember, UserFilter};
use crate::operations::row_pages::RowPages;
use crate::pagination::{ListPage, PageRequest};
use crate::permissions::Permission;
use crate::store::{self, Store, Transaction};
use crate::time::Date;

pub async fn get_member(store: &Store, org: &OrgId, user: &UserId) -> ApiResult<Member> {
    store::members::get(store, org, user)
        .await?
        .ok_or(ApiError::NotFound { resource: "user" })
}

/// A member of the principal's organization (`users:read`).
pub async fn read_member(store: &Store, principal: &Principal, user: &UserId) -> ApiResult<Member> {
    principal.require(Permission::UsersRead)?;
    get_member(store, principal.org(), user).await
}

pub async fn list_members(
    store: &Store,
    principal: &Principal,
    filter: &UserFilter,
    page: &PageRequest,
) -> ApiResult<ListPage<Member>> {
    principal.require(Permission::UsersRead)?;
    let filter = filter.clone().with_groups_of(&principal.roles);
    let result = store::members::list(store, principal.org(), &filter, page.limit, page.after.as_ref()).await?;
    Ok(ListPage {
        data: result.items,
        next_cursor: page.next_cursor(result.next),
    })
}

/// Members read per page of an export: one Query of up to a thousand small items.
const MEMBERS_PER_READ: usize = 1000;

/// Every member the filter selects, page by page, for an export (`users:read`). The day is
/// taken once, so the file's name and its rows say the same day.
pub struct MemberReader<'a> {
    store: &'a Store,
    org: OrgId,
    filter: UserFilter,
    today: Date,
    after: Option<BTreeMap<String, String>>,
    done: bool,
}

impl<'a> MemberReader<'a> {
    pub fn open(store: &'a Store, principal: &Principal, filter: UserFilter) -> ApiResult<MemberReader<'a>> {
        principal.require(Permission::UsersRead)?;
        Ok(MemberReader {
            store,
            org: principal.org().clone(),
            filter: filter.with_groups_of(&principal.roles),
            today: store.clock().today(),
            after: None,
            done: false,
        })
    }
}

impl RowPages for MemberReader<'_> {
    type Row = Member;

    fn today(&self) -> Date {
        self.today
    }

    fn is_done(&self) -> bool {
        self.done
    }

    /// The next page of members, in the list's order; `None` once every one was read.
    async fn next_page(&mut self) -> ApiResult<Option<Vec<Member>>> {
        if self.done {
            return Ok(None);
        }
        let page = store::members::list(
            self.store,
            &self.org,
            &self.filter,
            MEMBERS_PER_READ,
            self.after.as_ref(),
        )
        .await?;
        match page.next {
            Some(next) => self.after = Some(next),
            None => self.done = true,
        }
        Ok(Some(page.items))
    }
}

/// Every organization the principal's account belongs to and has not been deleted from.
pub async fn memberships(store: &Store, principal: &Principal) -> ApiResult<Vec<Member>> {
    let memberships = store::members::memberships_of(store, principal.user()).await?;
    Ok(memberships
        .into_iter()
        .filter(|member| member.status != MemberStatus::Deleted)
        .collect())
}

/// Adds a member to the principal's organization (`users:write`, and only roles the
/// principal could hold itself).
pub async fn create_member(store: &Store, principal: &Principal, input: NewMember) -> ApiResult<Member> {
    principal.require(Permission::UsersWrite)?;
    let NewMember {
        email,
        display_name,
        title,
        external_id,
        roles,
        profile,
        suspended,
    } = input;
    principal.require_can_grant(&roles)?;
    check_manager(store, principal.org(), None, &profile).await?;

    let now = store.clock().now();
    let member = Member {
        user_id: UserId::new(),
        organization_id: principal.org().clone(),
        organization_name: principal.acting_member()?.organization_name.clone(),
        email,
        display_name,
        title,
        external_id,
        roles,
        status: if suspended {
            MemberStatus::Suspended
        } else {
            MemberStatus::Active
        },
        facility_ids: Vec::new(),
        group_ids: Vec::new(),
        profile,
        created_at: now,
        updated_at: now,
        deleted_at: None,
        version: 1,
    };
    let mut transaction = Transaction::new();
    store::members::put_new(&mut transaction, &member)?;
    update_role_holders(
        &mut transaction,
        store,
        principal.org(),
        &member.user_id,
        &[],
        &member.roles,
    )?;
    let event = Event::UserCreated(UserCreated {
        email: member.email.to_string(),
        display_name: Some(member.display_name.to_string()),
        roles: member.roles.clone(),
        invitation_id: None,
        profile: member.profile.clone(),
        suspended: suspended.then_some(true),
    });
    store::audit::record(&mut transaction, &principal.actor, now, member.user_id.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(member)
}

fn check_version(member: &Member, expected: Option<u64>) -> ApiResult<()> {
    match expected {
        Some(version) if version != member.version => Err(ApiError::PreconditionFailed {
            message: format!(
                "the user is at version {}, not {version}; read it again",
                member.version
            ),
        }),
        _ => Ok(()),
    }
}

/// How a directory finds a member: by email (any case) or by its `externalId`.
#[derive(Debug, Clone, PartialEq)]
pub enum MemberLookup {
    Email(String),
    ExternalId(String),
}

/// The members a lookup names that are not deleted (`users:read`): the email's marker
/// then the member, or the `externalId` index.
pub async fn find_members(store: &Store, principal: &Principal, lookup: &MemberLookup) -> ApiResult<Vec<Member>> {
    principal.require(Permission::UsersRead)?;
    let org = principal.org();
    let found = match lookup {
        MemberLookup::Email(email) => match store::members::user_with_email(store, org, email).await? {
            Some(user) => store::members::get(store, org, &user).await?.into_iter().collect(),
            None => Vec::new(),
        },
        MemberLookup::ExternalId(id) => store::members::with_external_id(store, org, id).await?,
    };
    Ok(found
        .into_iter()
        .filter(|member| member.status != MemberStatus::Deleted)
        .collect())
}

/// A window of the members not deleted, in id order, by position (SCIM pages by
/// `startIndex`): `take` members after the first `skip`, and how many there are in all.
/// Reads the pages before the window; identity directories page through in order.
pub async fn members_window(
    store: &Store,
    principal: &Principal,
    skip: usize,
    take: usize,
) -> ApiResult<(Vec<Member>, u64)> {
    principal.require(Permission::UsersRead)?;
    let org = principal.org();
    let filter = UserFilter::parse(None, None)?;
    let total = store::members::count(store, org, &filter).await?;
    let mut window = Vec::with_capacity(take);
    let mut seen = 0;
    let mut after = None;
    while window.len() < take {
        let page = store::members::list(store, org, &filter, 1000, after.as_ref()).await?;
        for member in page.items {
            if seen >= skip && window.len() < take {
                window.push(member);
            }
            seen += 1;
        }
        match page.next {
            Some(next) if window.len() < take => after = Some(next),
            _ => break,
        }
    }
    Ok((window, total))
}

/// A profile's manager is another member of the organization, not deleted; `member` is
/// the one whose profile it is, when it exists.
async fn check_manager(
    store: &Store,
    org: &OrgId,
    member: Option<&UserId>,
    profile: &DirectoryProfile,
) -> ApiResult<()> {
    let Some(manager) = &profile.manager_id else {
        return Ok(());
    };
    if Some(manager) == member {
        return Err(ApiError::validation(
            "managerId",
            "a person cannot be their own manager",
        ));
    }
    match store::members::get(store, org, manager).await? {
        Some(found) if found.status != MemberStatus::Deleted => Ok(()),
        _ => Err(ApiError::validation(
            "managerId",
            format!("`{manager}` is not a member of this organization"),
        )),
    }
}

/// Keeps the role-holder links true in the member change's own transaction: a member
/// (not deleted) links to each custom role they hold. Taking a role checks, without
/// writing it, that the roles document still has the role and is not deleting it; so
/// parallel member changes never write the same item (`docs/access-patterns.md`).
pub(crate) fn update_role_holders(
    transaction: &mut Transaction,
    store: &Store,
    org: &OrgId,
    user: &UserId,
    before: &[RoleRef],
    after: &[RoleRef],
) -> ApiResult<()> {
    let custom = |roles: &[RoleRef]| -> Vec<RoleId> {
        roles
            .iter()
            .filter_map(|role| match role {
                RoleRef::Custom(id) => Some(id.clone()),
                RoleRef::System(_) => None,
            })
            .collect()
    };
    let (held, holds) = (custom(before), custom(after));
    for role in held.iter().filter(|role| !holds.contains(role)) {
        store::roles::unlink_holder(transaction, org, role, user)?;
    }
    let taken: Vec<&RoleId> = holds.iter().filter(|role| !held.contains(role)).collect();
    for role in &taken {
        store::roles::link_holder(transaction, org, role, user)?;
    }
    store::roles::check_roles_usable(transaction, org, &taken, store.clock().now())
}

/// Changes a member's profile, roles or status (`users:write`, over members no more
/// privileged than the principal).
pub async fn update_member(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    input: MemberChanges,
) -> ApiResult<Member> {
    Ok(update_member_and_facilities(store, principal, user, input).await?.0)
}

/// `update_member`, answering also, when the change names facilities, the facilities the
/// member holds after it: read before the commit (which checks that those added exist), so
/// nothing is read after the change is written.
pub async fn update_member_and_facilities(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    input: MemberChanges,
) -> ApiResult<(Member, Option<Vec<Facility>>)> {
    principal.require(Permission::UsersWrite)?;
    let before = get_member(store, principal.org(), user).await?;
    if before.status == MemberStatus::Deleted {
        return Err(ApiError::conflict(
            "this user is deleted; create the user again to restore access",
        ));
    }
    check_version(&before, input.expected_version)?;
    principal.require_can_manage(&before)?;

    let mut after = before.clone();
    if let Some(email) = input.email {
        after.email = email;
    }
    if let Some(name) = input.display_name {
        after.display_name = name;
    }
    if let Some(title) = input.title {
        after.title = title;
    }
    if let Some(external_id) = input.external_id {
        after.external_id = external_id;
    }
    if let Some(edit) = input.roles {
        after.roles = edit.apply(&before.roles)?;
        principal.require_can_grant(&after.roles)?;
    }
    let mut facilities_changed = None;
    let mut facilities_held = None;
    if let Some(edit) = &input.facilities {
        after.facility_ids = edit.apply(&before.facility_ids)?;
        let added: Vec<FacilityId> = after
            .facility_ids
            .iter()
            .filter(|id| !before.facility_ids.contains(id))
            .cloned()
            .collect();
        let removed: Vec<FacilityId> = before
            .facility_ids
            .iter()
            .filter(|id| !after.facility_ids.contains(id))
            .cloned()
            .collect();
        facilities_held =
            Some(crate::operations::facilities::active_facilities(store, principal.org(), &after.facility_ids).await?);
        if !added.is_empty() || !removed.is_empty() {
            facilities_changed = Some(UserFacilitiesChanged {
                added,
                removed,
                facility_ids: after.facility_ids.clone(),
            });
        }
    }
    after.profile = input.profile.apply(&before.profile);
    if after.profile.manager_id != before.profile.manager_id {
        check_manager(store, principal.org(), Some(user), &after.profile).await?;
    }
    if let Some(status) = input.status {
        if status == MemberStatus::Deleted {
            return Err(ApiError::validation(
                "status",
                "`status` must be active or suspended; use DELETE /users/{id} to delete",
            ));
        }
        if status == MemberStatus::Suspended && user == principal.user() {
            return Err(ApiError::conflict("you cannot suspend yourself"));
        }
        after.status = status;
    }
    let changes = UserUpdated {
        email: TextChange::of(&before.email.to_string(), &after.email.to_string()),
        display_name: TextChange::of(&before.display_name.to_string(), &after.display_name.to_string()),
        title: OptionalTextChange::of(&before.title, &after.title),
        external_id: OptionalTextChange::of(&before.external_id, &after.external_id),
        roles: RolesChange::of(&before.roles, &after.roles),
        status: MemberStatusChange::of(&before.status, &after.status),
        given_name: OptionalTextChange::of(&before.profile.given_name, &after.profile.given_name),
        family_name: OptionalTextChange::of(&before.profile.family_name, &after.profile.family_name),
        employee_number: OptionalTextChange::of(&before.profile.employee_number, &after.profile.employee_number),
        department: OptionalTextChange::of(&before.profile.department, &after.profile.department),
        manager_id: OptionalTextChange::of(
            &before.profile.manager_id.as_ref().map(ToString::to_string),
            &after.profile.manager_id.as_ref().map(ToString::to_string),
        ),
    };
    if changes.is_empty() && facilities_changed.is_none() {
        return Ok((before, facilities_held));
    }

    let now = store.clock().now();
    after.updated_at = now;
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::members::put_updated(&mut transaction, &before, &after)?;
    if let Some(facilities) = &facilities_changed {
        for added in &facilities.added {
            store::facilities::link_member(&mut transaction, principal.org(), added, user, now)?;
        }
        for removed in &facilities.removed {
            store::facilities::unlink_member(&mut transaction, principal.org(), removed, user)?;
        }
    }
    update_role_holders(
        &mut transaction,
        store,
        principal.org(),
        user,
        &before.roles,
        &after.roles,
    )?;
    if after.status != MemberStatus::Active {
        store::cip_senior_manager::check_not_current_designee(&mut transaction, principal.org(), user)?;
    }
    if !changes.is_empty() {
        store::audit::record(
            &mut transaction,
            &principal.actor,
            now,
            user.as_str(),
            &Event::UserUpdated(changes),
        )?;
    }
    if let Some(facilities) = facilities_changed {
        let event = Event::UserFacilitiesChanged(facilities);
        store::audit::record(&mut transaction, &principal.actor, now, user.as_str(), &event)?;
    }
    transaction.commit(store).await?;
    Ok((after, facilities_held))
}

/// A member and the facilities they are authorised for, in their order (a facility
/// deleted since is left out: deleting one is refused while a member holds it, so only a
/// record older than the links can name one).
pub async fn member_facilities(
    store: &Store,
    principal: &Principal,
    user: &UserId,
) -> ApiResult<(Member, Vec<Facility>)> {
    let member = read_member(store, principal, user).await?;
    let facilities = facilities_of(store, &member).await?;
    Ok((member, facilities))
}

/// The facilities `member` is authorised for, in their order (one BatchGetItem).
pub async fn facilities_of(store: &Store, member: &Member) -> ApiResult<Vec<Facility>> {
    let found = store::facilities::get_many(store, &member.organization_id, &member.facility_ids).await?;
    Ok(member
        .facility_ids
        .iter()
        .filter_map(|id| found.iter().find(|facility| &facility.id == id).cloned())
        .collect())
}

/// Soft delete (seed 004): the membership is kept with status `deleted`, its keys stop
/// working at once (authentication checks the member), and its email is released so the
/// person can be created again.
pub async fn delete_member(store: &Store, principal: &Principal, user: &UserId) -> ApiResult<Member> {
    delete_member_at(store, principal, user, None).await
}

/// `delete_member`, refused (`412`) when the member is not at `expected_version` (SCIM's
/// `If-Match`).
pub async fn delete_member_at(
    store: &Store,
    principal: &Principal,
    user: &UserId,
    expected_version: Option<u64>,
) -> ApiResult<Member> {
    principal.require(Permission::UsersWrite)?;
    let before = get_member(store, principal.org(), user).await?;
    if before.status == MemberStatus::Deleted {
        return Ok(before);
    }
    check_version(&before, expected_version)?;
    if user == principal.user() {
        return Err(ApiError::conflict("you cannot delete yourself"));
    }
    principal.require_can_manage(&before)?;

    let now = store.clock().now();
    let mut after = before.clone();
    after.status = MemberStatus::Deleted;
    after.deleted_at = Some(now);
    after.updated_at = now;
    after.version = before.version + 1;
    let mut transaction = Transaction::new();
    store::members::put_updated(&mut transaction, &before, &after)?;
    update_role_holders(&mut transaction, store, principal.org(), user, &before.roles, &[])?;
    // The record keeps the facilities and groups it held; it no longer keeps the
    // facilities in use nor shows among the groups' members.
    for facility in &before.facility_ids {
        store::facilities::unlink_member(&mut transaction, principal.org(), facility, user)?;
    }
    for group in &before.group_ids {
        store::groups::unlink_member(&mut transaction, principal.org(), group, user)?;
    }
    store::cip_senior_manager::check_not_current_designee(&mut transaction, principal.org(), user)?;
    let event = Event::UserDeleted(UserDeleted {
        email: before.email.to_string(),
        status: MemberStatusChange {
            from: before.status,
            to: after.status,
        },
    });
    store::audit::record(&mut transaction, &principal.actor, now, user.as_str(), &event)?;
    transaction.commit(store).await?;
    Ok(after)
}
