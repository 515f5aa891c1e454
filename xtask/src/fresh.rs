//! `cargo xtask setup --verify-fresh`: the README's test command as a new machine runs it.
//!
//! A machine of this project's kind starts with rustup, Node, PostgreSQL and nothing of ours;
//! compiling the three cargo tools is the only part (about 10 minutes) this check does not redo. It
//! runs `cargo xtask test` in a fresh clone of `HEAD` with:
//! - an empty `CARGO_HOME` holding only rustup's proxies and the tools setup compiled, so every
//!   crate (the workspace's, and `std`'s own for the widget) is downloaded again;
//! - an empty `RUSTUP_HOME`, so the pinned toolchain is installed from nothing;
//! - an empty `HOME` (no npm cache, no configuration) and an environment holding only `PATH`'s
//!   system directories, so no variable set by hand can help;
//! - no `target/` and no `node_modules/`;
//!
//! then `cargo xtask deploy --dry-run` there (no credentials), and checks afterwards that
//! nothing tracked changed. Everything lives in one temporary
//! folder, removed at the end; the run's log is kept in `target/fresh-check.log`.

use crate::Result;
use crate::setup::{run_visible, tracked_changes};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The tools `cargo xtask setup` compiles into cargo's `bin` folder.
const TOOLS: [&str; 3] = ["wasm-bindgen", "worker-build", "trunk"];
/// rustup's proxies: each is the `rustup` binary under another name.
const PROXIES: [&str; 8] =
    ["rustup", "cargo", "rustc", "rustdoc", "rustfmt", "cargo-fmt", "cargo-clippy", "clippy-driver"];
/// What a new machine's `PATH` holds besides cargo's `bin`.
const SYSTEM_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Run the check; fails if any part of it does.
pub fn run(root: &Path) -> Result<()> {
    let started = Instant::now();
    let tools = crate::setup::run(root)?;
    let base = std::env::temp_dir().join(format!("chat-fresh-{}", std::process::id()));
    let (home, cargo_home, rustup_home, repo) =
        (base.join("home"), base.join("cargo"), base.join("rustup"), base.join("repo"));
    for dir in [&home, &cargo_home.join("bin"), &rustup_home] {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    if tracked_changes(root).is_some_and(|status| !status.trim().is_empty()) {
        println!("[fresh] note: uncommitted changes are not part of this check (it clones HEAD)");
    }
    let log_file = root.join("target/fresh-check.log");
    let outcome = (|| {
        let mut timings = Vec::new();
        let mut timed = |what: &'static str, command: &mut Command| -> Result<()> {
            let step = Instant::now();
            println!("[fresh] {what} ...");
            let result = run_visible(command);
            timings.push((what, step.elapsed()));
            println!("[fresh] {what}: {} ({:.0?})", if result.is_ok() { "ok" } else { "FAILED" }, step.elapsed());
            result
        };
        timed("clone HEAD", Command::new("git").args(["clone", "--quiet", "--no-hardlinks"]).arg(root).arg(&repo))?;
        for (name, from) in TOOLS.map(|t| (t, t)).into_iter().chain(PROXIES.map(|p| (p, "rustup"))) {
            let (from, to) = (tools.cargo_bin.join(from), cargo_home.join("bin").join(name));
            std::fs::copy(&from, &to)
                .map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
        }
        let fresh = |program: &str| {
            let mut command = Command::new(cargo_home.join("bin").join(program));
            command
                .env_clear()
                .current_dir(&repo)
                .env("PATH", format!("{}:{SYSTEM_PATH}", cargo_home.join("bin").display()))
                .env("HOME", &home)
                .env("CARGO_HOME", &cargo_home)
                .env("RUSTUP_HOME", &rustup_home)
                .env("LANG", "C.UTF-8");
            command
        };
        timed(
            "rustup toolchain install (rust-toolchain.toml, from nothing)",
            fresh("rustup").args(["toolchain", "install", "--no-self-update"]),
        )?;
        let mut tee = Command::new("tee")
            .arg(&log_file)
            .stdin(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run tee: {e}"))?;
        let pipe = std::os::fd::OwnedFd::from(tee.stdin.take().ok_or("tee has no standard input")?);
        let err = pipe.try_clone().map_err(|e| e.to_string())?;
        let tested =
            timed("cargo xtask test (empty caches)", fresh("cargo").args(["xtask", "test"]).stdout(pipe).stderr(err));
        let _ = tee.wait();
        tested?;
        timed("cargo xtask deploy --dry-run (no credentials)", fresh("cargo").args(["xtask", "deploy", "--dry-run"]))?;
        let status = tracked_changes(&repo).ok_or("the fresh clone is no git checkout")?;
        if !status.trim().is_empty() {
            return Err(format!("the commands changed the fresh clone:\n{status}"));
        }
        println!("\n[fresh] passed in {:.0?}; nothing tracked changed", started.elapsed());
        for (what, took) in timings {
            println!("[fresh]   {what:<62} {:>6.0?}", took);
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&base);
    println!("[fresh] log of the test run: {}", log_file.display());
    outcome
}
