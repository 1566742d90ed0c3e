//! A tiny shop service: carts, items, and a summary endpoint.

pub mod cart;
pub mod routes;

pub use routes::app;
