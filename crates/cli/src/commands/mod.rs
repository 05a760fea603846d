pub mod config;
pub mod demo;
pub mod schema;
pub mod sql;
pub mod validate;
