//! The REST door: what the API's JSON looks like on the way in and out, over the
//! door-agnostic commands of `operations`. A request body is parsed here into a command's
//! typed input; a command's record becomes the view a client reads. Other doors (SCIM,
//! xAPI) get modules of their own beside this one and call the same commands.

pub mod api_keys;
pub mod cip_senior_manager;
pub mod evidence_packages;
pub mod exports;
pub mod facilities;
pub mod groups;
pub mod invitations;
pub mod roles;
pub mod training_assignments;
pub mod training_export;
pub mod training_modules;
pub mod training_requirements;
pub mod training_status;
pub mod users;
pub mod users_export;
pub mod webhooks;
