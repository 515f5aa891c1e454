//! `cargo xtask bench`: the benchmarks under `bench/`, each against a fresh database, each
//! printing ratios against a baseline measured in the same run (machines here are noisy).
//!
//! - `bench/hot_queries.sql`: the latest page and the inbox under RLS at 10M messages vs 100k.
//! - `bench/post_messages.mjs`: `POST /v1/messages` through the edge vs a read through it.
//! - `bench/open_links.mjs`: 50 concurrent link-session opens vs 50 concurrent reads.
//! - `bench/console_inbox.mjs`: the console's first render with 1,000 open conversations vs
//!   none (Chromium, signed in as the demo operator).
//! - `bench/realtime.mjs`: typing broadcasts and sockets held by the local Realtime server (a
//!   release build of the dev stack) vs a minimal Node `ws` broadcast server.

use crate::Result;
use crate::setup::run_visible;
use crate::stack::{self, Output, Ports, Stack};
use std::path::Path;
use std::process::Command;

/// The stack the API benchmark starts, on ports of its own.
const BENCH_PORTS: Ports = Ports { api: 54521, site: 8280, edge: 8987, inspector: 9429, model: 0 };

/// Run the benchmarks `only` names (`queries`, `api`, `realtime`), or all of them.
pub fn run(root: &Path, only: Option<&str>) -> Result<()> {
    let wanted = |name: &str| only.is_none_or(|o| o == name);
    if let Some(other) = only.filter(|o| !["queries", "api", "realtime"].contains(o)) {
        return Err(format!("unknown benchmark {other:?}; expected queries, api or realtime"));
    }
    let tools = crate::setup::run(root)?;
    let devstack = crate::artifacts::build(root, &tools, crate::artifacts::WidgetBuild::Size)?;
    let database_url = format!("postgres://postgres@127.0.0.1:5432/chat_bench_{}", std::process::id());
    let keys = stack::legacy_keys(&devstack, stack::jwt_secret(&root.join("target/bench/jwt-secret"))?)?;
    let with_db = |command: &mut Command| -> Result<()> {
        run_visible(command.current_dir(root).env("DEVSTACK_DATABASE_URL", &database_url).env("DEVSTACK_ROOT", root))
    };

    if wanted("queries") {
        with_db(Command::new(&devstack).args(["prepare", "--no-seed"]))?;
        let hot = with_db(Command::new("psql").args(["-X", "-q", "-f", "bench/hot_queries.sql", &database_url]));
        with_db(Command::new(&devstack).arg("drop-database"))?;
        hot?;
    }
    if wanted("realtime") {
        run_visible(crate::artifacts::cargo(root).args(["build", "--release", "--package", "devstack"]))?;
        let release = root.join("target/release/devstack");
        with_db(Command::new(&release).args(["prepare", "--no-seed"]))?;
        let realtime = (|| {
            let mut stack = Stack::new(Output::Logs(root.join("target/bench/logs")));
            stack.start_devstack("devstack", root, &release, BENCH_PORTS, &database_url, &keys)?;
            let pid_file = stack.pid_file("devstack").ok_or_else(|| "the bench stack writes logs".to_string())?;
            run_visible(
                Command::new(&tools.node)
                    .arg("bench/realtime.mjs")
                    .current_dir(root)
                    .env("STACK_API_URL", format!("http://127.0.0.1:{}", BENCH_PORTS.api))
                    .envs(keys.test_env())
                    .env("STACK_DEVSTACK_PID_FILE", pid_file),
            )
        })();
        with_db(Command::new(&devstack).arg("drop-database"))?;
        realtime?;
    }
    if !wanted("api") {
        return Ok(());
    }

    with_db(Command::new(&devstack).arg("prepare"))?;
    let api = (|| {
        let mut stack = Stack::new(Output::Logs(root.join("target/bench/logs")));
        let api_url = format!("http://127.0.0.1:{}", BENCH_PORTS.api);
        stack.start_devstack("devstack", root, &devstack, BENCH_PORTS, &database_url, &keys)?;
        stack.start_edge("edge", root, &tools, BENCH_PORTS, &keys.edge_vars(&api_url))?;
        for script in ["bench/post_messages.mjs", "bench/open_links.mjs", "bench/console_inbox.mjs"] {
            run_visible(
                Command::new(&tools.node)
                    .arg(script)
                    .current_dir(root)
                    .env("STACK_API_URL", &api_url)
                    .env("STACK_EDGE_URL", format!("http://127.0.0.1:{}", BENCH_PORTS.edge))
                    .envs(keys.test_env()),
            )?;
        }
        Ok(())
    })();
    with_db(Command::new(&devstack).arg("drop-database"))?;
    api
}
