//! The read behind an export of training assignments: every assignment a list query
//! selects, page after page, with the names its rows refer to. A door writes the rows in
//! its own format (the REST door's CSV and JSON files: `rest::training_export`); memory
//! holds one page at a time, never the whole set.

use std::collections::{BTreeMap, HashMap};

use crate::error::ApiResult;
use crate::ids::{FacilityId, OrgId, TrainingModuleId, UserId};
use crate::model::principal::Principal;
use crate::model::training_assignments::{AssignmentQuery, ScopedFacility, TrainingAssignment};
use crate::operations::training_assignments::scope_of;
use crate::permissions::Permission;
use crate::store::{self, Store};
use crate::time::Date;

/// Rows read per page: about what one DynamoDB Query returns (1 MB) at ~1 KB a row.
pub const ROWS_PER_READ: usize = 1000;

/// One assignment of an export, with the names it refers to as they are now.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportRow {
    pub assignment: TrainingAssignment,
    /// The scope's facilities with their names, in scope order.
    pub facilities: Vec<ScopedFacility>,
    /// The person's display name and email; `None` unless the reader may see people.
    pub person: Option<(String, String)>,
    pub module_title: String,
    pub cip_standard: Option<String>,
}

/// Pages of an export, read on demand. The export's day (`today`) is taken once, so every
/// row's status reads the same calendar day, even across midnight.
pub struct ExportReader<'a> {
    store: &'a Store,
    org: OrgId,
    query: AssignmentQuery,
    today: Date,
    /// `training:read` lets a caller read assignments, and an assignment names its person
    /// by id; the person's name and email are what `GET /users` shows, so they need
    /// `users:read` as well. Without it (an LMS integration's key, typically) no person
    /// is read.
    people: bool,
    names: Names,
    after: Option<BTreeMap<String, String>>,
    done: bool,
}

impl<'a> ExportReader<'a> {
    pub fn open(store: &'a Store, principal: &Principal, query: AssignmentQuery) -> ApiResult<ExportReader<'a>> {
        principal.require(Permission::TrainingRead)?;
        Ok(ExportReader {
            store,
            org: principal.org().clone(),
            query,
            today: store.clock().today(),
            people: principal.has(Permission::UsersRead),
            names: Names::default(),
            after: None,
            done: false,
        })
    }

    /// The day the export reads statuses on, and names its file after.
    pub fn today(&self) -> Date {
        self.today
    }

    /// Whether every page was read.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Whether the rows carry the person's name and email.
    pub fn shows_people(&self) -> bool {
        self.people
    }

    /// The next page of rows; `None` once every row was read.
    pub async fn next_page(&mut self) -> ApiResult<Option<Vec<ExportRow>>> {
        if self.done {
            return Ok(None);
        }
        let page = store::training_assignments::list(
            self.store,
            &self.org,
            &self.query,
            self.today,
            ROWS_PER_READ,
            self.after.as_ref(),
        )
        .await?;
        self.names.load(self.store, &self.org, self.people, &page.items).await?;
        match page.next {
            Some(next) => self.after = Some(next),
            None => self.done = true,
        }
        Ok(Some(
            page.items
                .into_iter()
                .map(|assignment| {
                    let (module_title, cip_standard) = self
                        .names
                        .modules
                        .get(&assignment.training_module_id)
                        .cloned()
                        .unwrap_or_default();
                    ExportRow {
                        facilities: scope_of(&assignment, &self.names.facilities),
                        person: self
                            .people
                            .then(|| self.names.people.get(&assignment.user_id).cloned().unwrap_or_default()),
                        module_title,
                        cip_standard,
                        assignment,
                    }
                })
                .collect(),
        ))
    }
}

/// Names already looked up, across pages: an export names the same people, modules and
/// facilities again and again, and reads each once.
#[derive(Default)]
struct Names {
    people: HashMap<UserId, (String, String)>,
    modules: HashMap<TrainingModuleId, (String, Option<String>)>,
    facilities: HashMap<FacilityId, String>,
}

impl Names {
    async fn load(&mut self, store: &Store, org: &OrgId, people: bool, rows: &[TrainingAssignment]) -> ApiResult<()> {
        let mut persons: Vec<UserId> = Vec::new();
        let mut modules: Vec<TrainingModuleId> = Vec::new();
        let mut facilities: Vec<FacilityId> = Vec::new();
        for row in rows {
            if people && !self.people.contains_key(&row.user_id) && !persons.contains(&row.user_id) {
                persons.push(row.user_id.clone());
            }
            if !self.modules.contains_key(&row.training_module_id) && !modules.contains(&row.training_module_id) {
                modules.push(row.training_module_id.clone());
            }
            for facility in &row.facility_ids {
                if !self.facilities.contains_key(facility) && !facilities.contains(facility) {
                    facilities.push(facility.clone());
                }
            }
        }
        if !persons.is_empty() {
            for member in store::members::get_many(store, org, &persons).await? {
                self.people.insert(
                    member.user_id,
                    (member.display_name.to_string(), member.email.to_string()),
                );
            }
        }
        if !modules.is_empty() {
            for module in store::training_modules::get_many(store, org, &modules).await? {
                self.modules.insert(module.id, (module.title, module.cip_standard));
            }
        }
        if !facilities.is_empty() {
            for facility in store::facilities::get_many(store, org, &facilities).await? {
                self.facilities.insert(facility.id, facility.name);
            }
        }
        Ok(())
    }
}
