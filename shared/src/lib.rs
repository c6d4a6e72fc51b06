//! The Raptor Comply domain crate: everything true of the product, whichever Lambda runs it.

pub mod api_keys;
pub mod app;
pub mod audit;
pub mod auth;
pub mod cip_senior_manager;
pub mod error;
pub mod http;
pub mod ids;
pub mod organizations;
pub mod pagination;
pub mod permissions;
pub mod roles;
pub mod routes;
pub mod store;
pub mod time;
pub mod users;
pub mod validation;
