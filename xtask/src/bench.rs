//! `cargo xtask bench`: the benchmarks under `bench/`, each against a fresh database, each
//! printing ratios against a baseline measured in the same run (machines here are noisy).
//!
//! - `bench/hot_queries.sql`: the latest page and the inbox under RLS at 10M messages vs 100k.
//! - `bench/post_messages.mjs`: `POST /v1/messages` through the edge vs a read through it.

use crate::Result;
use crate::setup::run_visible;
use crate::stack::{self, Output, Ports, Stack};
use std::path::Path;
use std::process::Command;

/// The stack the API benchmark starts, on ports of its own.
const BENCH_PORTS: Ports = Ports { api: 54521, site: 8280, edge: 8987, inspector: 9429 };

/// Run the benchmarks `only` names (`queries`, `api`), or all of them.
pub fn run(root: &Path, only: Option<&str>) -> Result<()> {
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    if let Some(other) = only.filter(|o| !["queries", "api"].contains(o)) {
        return Err(format!("unknown benchmark {other:?}; expected queries or api"));
    }
    let tools = crate::setup::run(root)?;
    let devstack = crate::artifacts::build(root, &tools)?;
    let database_url = format!("postgres://postgres@127.0.0.1:5432/chat_bench_{}", std::process::id());
    let keys = stack::keys(&devstack, stack::jwt_secret(&root.join("target/bench/jwt-secret"))?)?;
    let with_db = |command: &mut Command| -> Result<()> {
        run_visible(
            command
                .current_dir(root)
                .env("DEVSTACK_DATABASE_URL", &database_url)
                .env("DEVSTACK_ROOT", root)
                .env("JWT_SECRET", &keys.jwt_secret),
        )
    };

    if wanted("queries") {
        with_db(Command::new(&devstack).args(["prepare", "--no-seed"]))?;
        let hot = with_db(Command::new("psql").args(["-X", "-q", "-f", "bench/hot_queries.sql", &database_url]));
        with_db(Command::new(&devstack).arg("drop-database"))?;
        hot?;
    }
    if !wanted("api") {
        return Ok(());
    }

    with_db(Command::new(&devstack).arg("prepare"))?;
    let api = (|| {
        let mut stack = Stack::new(Output::Logs(root.join("target/bench/logs")));
        let api_url = format!("http://127.0.0.1:{}", BENCH_PORTS.api);
        stack.start_devstack(root, &devstack, BENCH_PORTS, &database_url, &keys)?;
        stack.start_edge("edge", root, &tools, BENCH_PORTS, &api_url, &keys)?;
        run_visible(
            Command::new(&tools.node)
                .arg("bench/post_messages.mjs")
                .current_dir(root)
                .env("STACK_API_URL", &api_url)
                .env("STACK_EDGE_URL", format!("http://127.0.0.1:{}", BENCH_PORTS.edge))
                .env("STACK_SERVICE_ROLE_KEY", &keys.service_role),
        )
    })();
    with_db(Command::new(&devstack).arg("drop-database"))?;
    api
}
