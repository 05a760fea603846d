pub mod config;
pub mod data;
pub mod demo;
pub mod eval;
pub mod model;
pub mod schema;
pub mod sql;
pub mod validate;
