//! The local Supabase stand-in.
//!
//! Run with `cargo xtask dev` (which sets the environment), or directly:
//! `JWT_SECRET=... cargo run -p devstack -- serve`.
//!
//! Commands:
//! - `serve` (default): prepare the database, then serve the API and the demo site.
//! - `prepare [--no-seed]`: create the database if missing, bootstrap, migrate, seed.
//! - `drop-database`: drop the database `DEVSTACK_DATABASE_URL` names.
//! - `keys`: print the project's API keys (and signing keys) as `NAME=value` lines.

use anyhow::{Context, Result, bail};
use devstack::config::{self, Config};
use devstack::{database, keys, site};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("devstack=info,postrust_server=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str).unwrap_or("serve") {
        "serve" => serve(Config::from_env()?).await,
        "prepare" => {
            prepare(&database_url(), &config::root_from_env(), !args.iter().any(|a| a == "--no-seed")).await.map(drop)
        }
        "drop-database" => database::drop(&database_url()).await,
        "keys" => keys(),
        other => bail!("unknown command {other:?}; expected serve, prepare, drop-database or keys"),
    }
}

/// Print the project's client keys; with `DEVSTACK_SIGNING_KEYS`, create that file first if
/// missing (two keys: Auth's, then the one the edge imports) and print both private keys too.
fn keys() -> Result<()> {
    if let Some(path) = std::env::var_os("DEVSTACK_SIGNING_KEYS") {
        keys::create_signing_keys(std::path::Path::new(&path), 2)?;
        let signing = keys::read_signing_keys(std::path::Path::new(&path))?;
        let [auth, edge] = [0, 1].map(|i| signing.get(i).and_then(|key| key.private_jwk()).unwrap_or_default());
        println!("AUTH_SIGNING_KEY={auth}\nEDGE_SIGNING_KEY={edge}");
    }
    println!("{}", keys::ProjectKeys::from_env()?.client_keys()?);
    Ok(())
}

fn database_url() -> String {
    std::env::var("DEVSTACK_DATABASE_URL").unwrap_or_else(|_| config::DEFAULT_DATABASE_URL.to_string())
}

async fn prepare(database_url: &str, root: &std::path::Path, seed: bool) -> Result<sqlx::PgPool> {
    database::create(database_url).await?;
    let pool = database::connect(database_url).await?;
    let migrated = database::prepare(&pool, &root.join("migrations"), seed).await?;
    println!("migrations: {} applied, {} already applied", migrated.applied.len(), migrated.present);
    Ok(pool)
}

async fn serve(config: Config) -> Result<()> {
    let pool = prepare(&config.database_url, &config.root, true).await?;
    let api = devstack::api(&config, pool).await?;
    let demo = site::router(config.root.join("public/demo"), config.edge_url.clone(), config.api_url());

    let api_listener =
        TcpListener::bind(config.api_addr).await.with_context(|| format!("cannot listen on {}", config.api_addr))?;
    let site_listener =
        TcpListener::bind(config.site_addr).await.with_context(|| format!("cannot listen on {}", config.site_addr))?;
    tracing::info!("API (rest, auth) on {}, demo site on http://{}", config.api_url(), config.site_addr);
    println!("devstack ready: api={} site=http://{}", config.api_url(), config.site_addr);

    let api_server = axum::serve(api_listener, api).with_graceful_shutdown(shutdown_signal());
    let site_server = axum::serve(site_listener, demo).with_graceful_shutdown(shutdown_signal());
    let (api_result, site_result) = tokio::join!(api_server, site_server);
    api_result?;
    site_result?;
    Ok(())
}

/// Ctrl-C or SIGTERM (what `cargo xtask dev` sends its children on exit).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
