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
const TEST_PORTS: Ports = Ports { api: 54421, site: 8180, edge: 8887, inspector: 9329, model: 11444 };
/// The stack with the signing-keys system, after the legacy one has stopped.
const SIGNING_KEY_PORTS: Ports = Ports { api: 54431, site: 8190, edge: 8897, inspector: 9339, model: 11454 };
/// A second edge whose API is a closed port: proves the 503 path.
const UNREACHABLE_PORTS: Ports = Ports { api: 9, site: 0, edge: 8888, inspector: 9330, model: 0 };

/// `tests/tests/*.rs` that talk to the database directly (RLS matrix, SQL functions, schema rules).
pub const DATABASE_TESTS: [&str; 10] = [
    "rls_matrix",
    "chat_functions",
    "operator_functions",
    "conversation_lifecycle",
    "limits",
    "database",
    "team",
    "analytics",
    "owed_answers",
    "agents",
];
/// `tests/tests/*.rs` that go through HTTP or WebSocket (the stand-in's Auth, REST and Realtime, the edge in workerd).
pub const INTEGRATION_TESTS: [&str; 7] =
    ["auth", "rest", "edge", "edge_chat", "edge_links", "edge_agents", "realtime_client"];

/// The integration tests whose subject is a token: Auth's, and the edge's guest and owner tokens.
pub const SIGNING_KEY_INTEGRATION_TESTS: [&str; 3] = ["auth", "edge_chat", "edge_links"];
/// The official clients against the signing-keys system.
const SIGNING_KEY_CONFORMANCE_TESTS: [&str; 2] =
    ["tests/conformance/supabase-js.test.mjs", "tests/conformance/realtime.test.mjs"];

/// Which tests run.
pub enum Only {
    /// Every layer: what CI runs.
    Everything,
    /// Only the browser layer, on these files (every `tests/e2e` file when empty).
    Browser(Vec<String>),
    /// Only these stack tests (`tests/tests/NAME.rs`), on the legacy-keys stack.
    Stack(Vec<String>),
}

impl Only {
    /// `browser [FILE...]`, `stack NAME...`, or everything.
    pub fn from_args(mut args: impl Iterator<Item = String>) -> Self {
        match args.next().as_deref() {
            Some("browser") => Self::Browser(args.collect()),
            Some("stack") => Self::Stack(args.collect()),
            _ => Self::Everything,
        }
    }
}

/// Run all layers (or only the browser's, while working on it).
pub fn run(root: &Path, only: Only) -> Result<()> {
    let started = Instant::now();
    let tools = crate::setup::run(root)?;
    let devstack = crate::artifacts::build(root, &tools, crate::artifacts::WidgetBuild::Size)?;
    let logs = root.join("target/test-logs");
    let _ = std::fs::remove_dir_all(&logs);
    match &only {
        Only::Everything => {}
        Only::Browser(files) => {
            let all = ["tests/e2e/*.test.mjs".to_string()];
            let files: Vec<&str> = if files.is_empty() { &all[..] } else { files }.iter().map(String::as_str).collect();
            return one_layer(root, &tools, &devstack, &logs, |target, env| target.node(env, &files));
        }
        Only::Stack(names) => {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            return one_layer(root, &tools, &devstack, &logs, |target, env| target.stack_tests(env, &names));
        }
    }

    let mut results = vec![layer("unit", || {
        run_visible(crate::artifacts::cargo(root).args(["fmt", "--all", "--check"]))
            .map_err(|e| format!("{e}\nfix: run `cargo fmt --all`"))?;
        // Lints on both targets: natively every crate but the browser-only ones (widget, console
        // and their shared browser I/O), and the wasm32 crates as they ship.
        let native = [
            "clippy",
            "--workspace",
            "--all-targets",
            "--exclude",
            "chat-widget",
            "--exclude",
            "chat-console",
            "--exclude",
            "chat-browser",
            "--",
            "-D",
            "warnings",
        ];
        run_visible(crate::artifacts::cargo(root).args(native))?;
        let wasm = [
            "clippy",
            "-p",
            "chat-widget",
            "-p",
            "chat-console",
            "-p",
            "chat-browser",
            "-p",
            "chat-edge",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ];
        run_visible(crate::artifacts::cargo(root).args(wasm))?;
        run_visible(crate::artifacts::cargo(root).args([
            "test",
            "--workspace",
            "--exclude",
            "chat-widget",
            "--exclude",
            "chat-console",
            "--exclude",
            "chat-browser",
            "--exclude",
            "stack-tests",
            // The console's models in chat_core, tested here too (see core/Cargo.toml).
            "--features",
            "chat-core/console",
        ]))
    })];

    let database = format!("chat_test_{}_{}", std::process::id(), epoch_seconds());
    let urls = [database.clone(), format!("{database}_signing_keys")]
        .map(|name| format!("postgres://postgres@127.0.0.1:5432/{name}"));
    let prepare = |url: &str| {
        println!("[test] database {url}");
        run_visible(
            Command::new(&devstack)
                .arg("prepare")
                .current_dir(root)
                .env("DEVSTACK_DATABASE_URL", url)
                .env("DEVSTACK_ROOT", root),
        )
    };

    let outcome = prepare(&urls[0]).and_then(|()| {
        // Every layer with the legacy key system (one HS256 secret)...
        let legacy = stack::legacy_keys(&devstack, stack::jwt_secret(&logs.join("jwt-secret"))?)?;
        let mut stack = Stack::new(Output::Logs(logs.clone()));
        let target = Target { root, tools: &tools, devstack: &devstack, database_url: &urls[0] };
        let env = target.start(&mut stack, "", TEST_PORTS, &legacy)?;
        let unreachable_api = format!("http://127.0.0.1:{}", UNREACHABLE_PORTS.api);
        stack.start_edge("edge-unreachable", root, &tools, UNREACHABLE_PORTS, &legacy.edge_vars(&unreachable_api))?;
        let env = [env, vec![("STACK_EDGE_UNREACHABLE_URL", format!("http://127.0.0.1:{}", UNREACHABLE_PORTS.edge))]]
            .concat();
        results.extend(stack_layers(&target, &env));
        stack.stop();

        // ...then what depends on the keys with the current system (ES256 signing keys, a JWKS,
        // `sb_` API keys), on a database of its own: Auth, the edge's tokens, supabase-js and
        // realtime-js.
        prepare(&urls[1])?;
        let current = stack::signing_keys(&devstack, &logs.join("signing-keys.json"))?;
        let mut stack = Stack::new(Output::Logs(logs.clone()));
        let target = Target { database_url: &urls[1], ..target };
        let env = target.start(&mut stack, "-signing-keys", SIGNING_KEY_PORTS, &current)?;
        results.extend(signing_key_layers(&target, &env));
        stack.stop();
        results.push(layer("deploy", || crate::deploy::worker_bundle_size(root, &tools).map(drop)));
        Ok(())
    });
    // Every database is dropped, whichever drop fails; the first failure is reported.
    let drops: Vec<Result<()>> = urls
        .iter()
        .map(|url| run_visible(Command::new(&devstack).arg("drop-database").env("DEVSTACK_DATABASE_URL", url)))
        .collect();
    let dropped: Result<()> = drops.into_iter().collect();

    println!("\n[test] summary ({:.0?} in all)", started.elapsed());
    for (name, result) in &results {
        println!("[test]   {name:<26} {}", if result.is_ok() { "ok" } else { "FAILED" });
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

/// Only the browser layer, on a fresh database with the legacy keys.
/// One layer (`run`) on a stack of its own, with the legacy keys.
fn one_layer(
    root: &Path,
    tools: &Tools,
    devstack: &Path,
    logs: &Path,
    run: impl FnOnce(&Target, &[(&'static str, String)]) -> Result<()>,
) -> Result<()> {
    let url = format!("postgres://postgres@127.0.0.1:5432/chat_test_{}_{}", std::process::id(), epoch_seconds());
    run_visible(
        Command::new(devstack)
            .arg("prepare")
            .current_dir(root)
            .env("DEVSTACK_DATABASE_URL", &url)
            .env("DEVSTACK_ROOT", root),
    )?;
    let outcome = (|| {
        let legacy = stack::legacy_keys(devstack, stack::jwt_secret(&logs.join("jwt-secret"))?)?;
        let mut stack = Stack::new(Output::Logs(logs.to_path_buf()));
        let target = Target { root, tools, devstack, database_url: &url };
        let env = target.start(&mut stack, "", TEST_PORTS, &legacy)?;
        let result = run(&target, &env);
        stack.stop();
        result
    })();
    let dropped = run_visible(Command::new(devstack).arg("drop-database").env("DEVSTACK_DATABASE_URL", &url));
    outcome.and(dropped)
}

/// What the stack under test runs on.
struct Target<'a> {
    root: &'a Path,
    tools: &'a Tools,
    devstack: &'a Path,
    database_url: &'a str,
}

impl Target<'_> {
    /// Start the devstack and the edge with `keys` (process names end with `suffix`); the
    /// tests' environment for them.
    fn start(&self, stack: &mut Stack, suffix: &str, ports: Ports, keys: &Keys) -> Result<Vec<(&'static str, String)>> {
        let (devstack, edge) = (format!("devstack{suffix}"), format!("edge{suffix}"));
        let api_url = format!("http://127.0.0.1:{}", ports.api);
        stack.start_model(&format!("model{suffix}"), self.root, self.tools, ports.model)?;
        stack.start_devstack(&devstack, self.root, self.devstack, ports, self.database_url, keys)?;
        let model = stack::standin_model(ports.model);
        stack.start_edge(&edge, self.root, self.tools, ports, &[keys.edge_vars(&api_url), model].concat())?;
        let pid_file = |name: &str| stack.pid_file(name).unwrap_or_default().display().to_string();
        let mut env = vec![
            ("STACK_DATABASE_URL", self.database_url.to_string()),
            ("STACK_API_URL", api_url.clone()),
            ("STACK_EDGE_URL", format!("http://127.0.0.1:{}", ports.edge)),
            ("STACK_SITE_URL", format!("http://127.0.0.1:{}", ports.site)),
            ("STACK_ARTIFACTS", self.root.join("target/test-artifacts").display().to_string()),
            ("STACK_DEVSTACK_PID_FILE", pid_file(&devstack)),
            ("STACK_EDGE_PID_FILE", pid_file(&edge)),
            ("STACK_DEVSTACK_BIN", self.devstack.display().to_string()),
            ("STACK_MODEL_URL", format!("http://127.0.0.1:{}", ports.model)),
            ("STACK_MODEL_SITE_KEY", stack::STANDIN_SITE_KEY.to_string()),
        ];
        env.extend(keys.test_env());
        Ok(env)
    }

    /// The Node test runner on `files`.
    fn node(&self, env: &[(&'static str, String)], files: &[&str]) -> Result<()> {
        let mut command = Command::new(&self.tools.node);
        command.args(["--test", "--test-concurrency=1"]).args(files).current_dir(self.root).envs(env.iter().cloned());
        run_visible(&mut command)
    }

    /// The stack tests `targets` (`tests/tests/*.rs`).
    fn stack_tests(&self, env: &[(&'static str, String)], targets: &[&str]) -> Result<()> {
        let mut command = crate::artifacts::cargo(self.root);
        // Every test binary runs even when an earlier one failed: one run reports all failures.
        command.args(["test", "--no-fail-fast", "--package", "stack-tests"]).envs(env.iter().cloned());
        for target in targets {
            command.args(["--test", target]);
        }
        run_visible(&mut command)
    }
}

/// The layers that need the running stack.
fn stack_layers(target: &Target, env: &[(&'static str, String)]) -> Vec<(&'static str, Result<()>)> {
    vec![
        layer("database", || target.stack_tests(env, &DATABASE_TESTS)),
        layer("integration", || target.stack_tests(env, &INTEGRATION_TESTS)),
        layer("conformance", || target.node(env, &["tests/conformance/*.test.mjs"])),
        layer("browser", || target.node(env, &["tests/e2e/*.test.mjs"])),
    ]
}

/// The layers run again with the signing-keys system.
fn signing_key_layers(target: &Target, env: &[(&'static str, String)]) -> Vec<(&'static str, Result<()>)> {
    vec![
        layer("integration, signing keys", || target.stack_tests(env, &SIGNING_KEY_INTEGRATION_TESTS)),
        layer("conformance, signing keys", || target.node(env, &SIGNING_KEY_CONFORMANCE_TESTS)),
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
