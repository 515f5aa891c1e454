//! `cargo xtask test`: every test layer, against a fresh database created and dropped here.
//!
//! Layers: unit (native `cargo test`), database + integration (`stack-tests` against the
//! running stack), conformance (official supabase-js on Node), browser (Playwright driving
//! Debian's Chromium). All layers run even if one fails; the exit status says if any did.

use crate::Result;
use crate::setup::{Tools, run_visible};
use crate::stack::{self, Keys, Output, Ports, Stack};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// Ports of the stack under test, apart from `cargo xtask dev`'s so both can run at once.
const TEST_PORTS: Ports = Ports { api: 54421, site: 8180, edge: 8887, inspector: 9329 };
/// A second edge whose API is a closed port: proves the 503 path.
const UNREACHABLE_PORTS: Ports = Ports { api: 9, site: 0, edge: 8888, inspector: 9330 };

/// `tests/tests/*.rs` that talk to the database directly (RLS matrix, SQL functions, schema rules).
pub const DATABASE_TESTS: [&str; 5] = ["rls_matrix", "chat_functions", "operator_functions", "limits", "database"];
/// `tests/tests/*.rs` that go through HTTP or WebSocket (the stand-in's Auth, REST and Realtime, the edge in workerd).
pub const INTEGRATION_TESTS: [&str; 6] = ["auth", "rest", "edge", "edge_chat", "edge_links", "realtime_client"];

/// Run all layers.
pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let tools = crate::setup::run(root)?;
    let devstack = crate::artifacts::build(root, &tools, crate::artifacts::WidgetBuild::Size)?;
    let logs = root.join("target/test-logs");
    let _ = std::fs::remove_dir_all(&logs);

    let mut results = vec![layer("unit", || {
        run_visible(crate::artifacts::cargo(root).args(["fmt", "--all", "--check"]))
            .map_err(|e| format!("{e}\nfix: run `cargo fmt --all`"))?;
        run_visible(crate::artifacts::cargo(root).args([
            "test",
            "--workspace",
            "--exclude",
            "chat-widget",
            "--exclude",
            "stack-tests",
        ]))
    })];

    let database = format!("chat_test_{}_{}", std::process::id(), epoch_seconds());
    let database_url = format!("postgres://postgres@127.0.0.1:5432/{database}");
    println!("[test] database {database}");
    let keys = stack::keys(&devstack, stack::jwt_secret(&logs.join("jwt-secret"))?)?;
    let prepared = run_visible(
        Command::new(&devstack)
            .arg("prepare")
            .current_dir(root)
            .env("DEVSTACK_DATABASE_URL", &database_url)
            .env("DEVSTACK_ROOT", root)
            .env("JWT_SECRET", &keys.jwt_secret),
    );

    let outcome = prepared.and_then(|()| {
        let mut stack = Stack::new(Output::Logs(logs.clone()));
        let api_url = format!("http://127.0.0.1:{}", TEST_PORTS.api);
        stack.start_devstack(root, &devstack, TEST_PORTS, &database_url, &keys)?;
        stack.start_edge("edge", root, &tools, TEST_PORTS, &api_url, &keys)?;
        let unreachable_api = format!("http://127.0.0.1:{}", UNREACHABLE_PORTS.api);
        stack.start_edge("edge-unreachable", root, &tools, UNREACHABLE_PORTS, &unreachable_api, &keys)?;
        let pid_files = ["devstack", "edge"].map(|name| stack.pid_file(name).unwrap_or_default());
        results.extend(stack_layers(root, &tools, &devstack, &database_url, &keys, &pid_files));
        stack.stop();
        Ok(())
    });
    let dropped = run_visible(Command::new(&devstack).arg("drop-database").env("DEVSTACK_DATABASE_URL", &database_url));

    println!("\n[test] summary ({:.0?} in all)", started.elapsed());
    for (name, result) in &results {
        println!("[test]   {name:<12} {}", if result.is_ok() { "ok" } else { "FAILED" });
    }
    outcome?;
    dropped?;
    let failed: Vec<&str> = results.iter().filter(|(_, r)| r.is_err()).map(|(n, _)| *n).collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed layers: {} (service logs in {})", failed.join(", "), logs.display()))
    }
}

/// The layers that need the running stack.
fn stack_layers(
    root: &Path,
    tools: &Tools,
    devstack: &Path,
    database_url: &str,
    keys: &Keys,
    [devstack_pid_file, edge_pid_file]: &[std::path::PathBuf; 2],
) -> Vec<(&'static str, Result<()>)> {
    let env = [
        ("STACK_DATABASE_URL", database_url.to_string()),
        ("STACK_API_URL", format!("http://127.0.0.1:{}", TEST_PORTS.api)),
        ("STACK_EDGE_URL", format!("http://127.0.0.1:{}", TEST_PORTS.edge)),
        ("STACK_EDGE_UNREACHABLE_URL", format!("http://127.0.0.1:{}", UNREACHABLE_PORTS.edge)),
        ("STACK_SITE_URL", format!("http://127.0.0.1:{}", TEST_PORTS.site)),
        ("STACK_ANON_KEY", keys.anon.clone()),
        ("STACK_SERVICE_ROLE_KEY", keys.service_role.clone()),
        ("STACK_JWT_SECRET", keys.jwt_secret.clone()),
        ("STACK_ARTIFACTS", root.join("target/test-artifacts").display().to_string()),
        ("STACK_DEVSTACK_PID_FILE", devstack_pid_file.display().to_string()),
        ("STACK_EDGE_PID_FILE", edge_pid_file.display().to_string()),
        ("STACK_DEVSTACK_BIN", devstack.display().to_string()),
    ];
    let node = |files: &str| {
        let mut command = Command::new(&tools.node);
        command.args(["--test", "--test-concurrency=1", files]).current_dir(root).envs(env.clone());
        command
    };
    let stack_tests = |targets: &[&str]| {
        let mut command = crate::artifacts::cargo(root);
        // Every test binary runs even when an earlier one failed: one run reports all failures.
        command.args(["test", "--no-fail-fast", "--package", "stack-tests"]).envs(env.clone());
        for target in targets {
            command.args(["--test", target]);
        }
        run_visible(&mut command)
    };
    vec![
        layer("database", || stack_tests(&DATABASE_TESTS)),
        layer("integration", || stack_tests(&INTEGRATION_TESTS)),
        layer("conformance", || run_visible(&mut node("tests/conformance/*.test.mjs"))),
        layer("browser", || run_visible(&mut node("tests/e2e/*.test.mjs"))),
    ]
}

fn layer(name: &'static str, body: impl FnOnce() -> Result<()>) -> (&'static str, Result<()>) {
    let started = Instant::now();
    println!("\n[test] ===== {name} =====");
    let result = body();
    println!("[test] {name}: {} ({:.1?})", if result.is_ok() { "ok" } else { "FAILED" }, started.elapsed());
    (name, result)
}

fn epoch_seconds() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default()
}
