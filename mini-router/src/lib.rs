//! mini-router: an interactive BGP router with an FRR-like CLI. The crate is split the way
//! the router works: `cli` (the command language), `config` (the running configuration and
//! its FRR-syntax file), `view` + `render` (state as FRR 8.4 prints it), `fib` (kernel
//! routes over netlink) and `fib_feed` (the BGP engine's changes into the kernel).

pub mod app;
pub mod cli;
pub mod config;
pub mod control;
pub mod fib;
pub mod fib_feed;
pub mod links;
pub mod observe;
pub mod reconcile;
pub mod render;
pub mod repl;
pub mod router;
pub mod view;
