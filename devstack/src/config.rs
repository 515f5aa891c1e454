//! Settings of the local stack, read from the environment (documented in the README).

use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything the dev stack needs to run.
#[derive(Clone, Debug)]
pub struct Config {
    /// Superuser connection to the project database (`DEVSTACK_DATABASE_URL`).
    pub database_url: String,
    /// Where the Supabase-compatible API listens (`DEVSTACK_API_ADDR`, default 127.0.0.1:54321).
    pub api_addr: SocketAddr,
    /// Where the demo customer site listens (`DEVSTACK_SITE_ADDR`, default 127.0.0.1:8080).
    pub site_addr: SocketAddr,
    /// The edge's public URL, written into the demo page (`DEVSTACK_EDGE_URL`).
    pub edge_url: String,
    /// The project's keys (`DEVSTACK_SIGNING_KEYS`, else `JWT_SECRET`).
    pub keys: crate::keys::ProjectKeys,
    /// Repository root holding `migrations/` and `public/` (`DEVSTACK_ROOT`, default: current dir).
    pub root: PathBuf,
}

/// The database a fresh checkout uses when nothing else is said.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/chat_dev";

impl Config {
    /// Read the configuration from the environment.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
        Ok(Self {
            database_url: var("DEVSTACK_DATABASE_URL", DEFAULT_DATABASE_URL),
            api_addr: var("DEVSTACK_API_ADDR", "127.0.0.1:54321").parse().context("DEVSTACK_API_ADDR")?,
            site_addr: var("DEVSTACK_SITE_ADDR", "127.0.0.1:8080").parse().context("DEVSTACK_SITE_ADDR")?,
            edge_url: var("DEVSTACK_EDGE_URL", "http://127.0.0.1:8787"),
            keys: crate::keys::ProjectKeys::from_env()?,
            root: root_from_env(),
        })
    }

    /// The public URL of the API, as clients reach it.
    pub fn api_url(&self) -> String {
        format!("http://{}", self.api_addr)
    }
}

/// `DEVSTACK_ROOT`, or the current directory.
pub fn root_from_env() -> PathBuf {
    std::env::var_os("DEVSTACK_ROOT").map_or_else(|| PathBuf::from("."), PathBuf::from)
}

/// `JWT_SECRET`, refused when missing or shorter than Supabase's minimum of 32 characters.
pub fn jwt_secret_from_env() -> Result<String> {
    let secret = std::env::var("JWT_SECRET")
        .context("JWT_SECRET is not set: `cargo xtask dev` generates one under target/devstack/")?;
    anyhow::ensure!(secret.len() >= 32, "JWT_SECRET must be at least 32 characters long");
    Ok(secret)
}
