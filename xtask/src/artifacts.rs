//! Building what the stack runs: the dev stack binary, the widget and the console (trunk) and
//! the edge Worker (worker-build), plus the static assets the Worker serves.

use crate::Result;
use crate::setup::{Tools, run_visible};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Where the Worker's static assets are assembled (`[assets]` in edge/wrangler.toml).
pub const EDGE_ASSETS: &str = "target/edge-assets";

/// How the widget's wasm is compiled.
#[derive(Clone, Copy, PartialEq)]
pub enum WidgetBuild {
    /// For size: what ships (see [`widget_build_env`]).
    Size,
    /// For reproducing a panic: the plain `std` and the `panic-messages` feature, so a panic
    /// shows its message and location in the browser console (`--widget-panics`).
    PanicMessages,
}

impl WidgetBuild {
    /// `--widget-panics` among the command's arguments selects [`WidgetBuild::PanicMessages`].
    pub fn from_args() -> Self {
        if std::env::args().any(|a| a == "--widget-panics") { Self::PanicMessages } else { Self::Size }
    }
}

/// Build everything; returns the dev stack binary.
pub fn build(root: &Path, tools: &Tools, widget: WidgetBuild) -> Result<PathBuf> {
    timed("devstack", || run_visible(cargo(root).args(["build", "--package", "devstack"])))?;
    timed("widget (trunk, wasm)", || {
        let mut trunk = Command::new(tools.cargo_bin.join("trunk"));
        trunk
            .args(["--skip-version-check", "build", "--release"])
            .current_dir(root)
            .env("PATH", tools.path_env())
            .env("NO_COLOR", "true");
        match widget {
            WidgetBuild::Size => trunk.envs(widget_build_env(root)),
            WidgetBuild::PanicMessages => {
                println!("[build]   with panic messages, without the size flags (not for shipping)");
                trunk
                    .args(["--features", "panic-messages"])
                    .env("CARGO_TARGET_DIR", root.join("target/widget-panics-build"))
            }
        };
        run_visible(&mut trunk)
    })?;
    timed("widget bundle (wasm-opt, JS glue, esbuild)", || {
        crate::widget_bundle::shrink(&root.join("target/widget-dist"), tools)
    })?;
    timed("console (trunk, wasm)", || {
        run_visible(
            Command::new(tools.cargo_bin.join("trunk"))
                .args(["--skip-version-check", "build", "console/index.html", "--release"])
                .args(["--dist", CONSOLE_DIST, "--public-url", "/console/", "--filehash", "true"])
                .current_dir(root)
                .env("PATH", tools.path_env())
                .env("NO_COLOR", "true"),
        )
    })?;
    timed("edge assets", || {
        let base = assemble_assets(root, tools)?;
        println!("[build]   widget in {base} (immutable), embed.js and link.js for {LOADER_MAX_AGE_SECONDS} s");
        Ok(())
    })?;
    timed("edge (worker-build, wasm)", || {
        run_visible(
            Command::new(tools.cargo_bin.join("worker-build"))
                .arg("--release")
                .current_dir(root.join("edge"))
                .env("PATH", tools.path_env())
                .env("CARGO_TARGET_DIR", root.join("target"))
                .env("WASM_BINDGEN_BIN", tools.cargo_bin.join("wasm-bindgen"))
                .env("WASM_OPT_BIN", tools.npm_bin.join("wasm-opt"))
                .env("ESBUILD_BIN", tools.npm_bin.join("esbuild")),
        )
    })?;
    Ok(root.join("target/debug/devstack"))
}

/// Where trunk writes the console.
const CONSOLE_DIST: &str = "target/console-dist";

/// How the widget's wasm is compiled: for size, with a `std` built for it (`-Zbuild-std`) that
/// aborts on panic without formatting a message, keeps no panic locations and no `Debug`
/// output (the widget never shows either to a visitor). These are unstable flags of the pinned
/// stable compiler, enabled for this one build by `RUSTC_BOOTSTRAP` (as Firefox builds do); the
/// widget gets its own target directory so the edge's wasm build keeps its artifacts.
/// A panic then shows in the browser console as `RuntimeError: unreachable`.
pub fn widget_build_env(root: &Path) -> [(&'static str, String); 4] {
    [
        ("RUSTC_BOOTSTRAP", "1".into()),
        ("CARGO_UNSTABLE_BUILD_STD", "std,panic_abort".into()),
        ("RUSTFLAGS", "-Zunstable-options -Cpanic=immediate-abort -Zfmt-debug=none -Zlocation-detail=none".into()),
        ("CARGO_TARGET_DIR", root.join("target/widget-build").display().to_string()),
    ]
}

/// `cargo`, as the one running xtask.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    command
}

/// How long browsers and Cloudflare's cache keep `embed.js` and `link.js`, which name the current
/// widget: a new widget reaches every page within this time.
pub const LOADER_MAX_AGE_SECONDS: u32 = 300;

/// Put the trunk output (minus its throwaway index.html) into the Worker's asset directory under
/// `widget/<content hash>/`, then `public/embed.js`, `public/link.js` and the console's
/// `public/preview.js` (minified, with that folder written in for `WIDGET_BASE`), their pages
/// (`public/link.html`, `public/preview.html`), and `_headers`: the
/// widget immutable for a year, the loaders for [`LOADER_MAX_AGE_SECONDS`]. Static assets with
/// their headers are served without running the Worker. Returns the widget's folder.
fn assemble_assets(root: &Path, tools: &Tools) -> Result<String> {
    let assets = root.join(EDGE_ASSETS);
    let _ = std::fs::remove_dir_all(&assets);
    let dist = root.join("target/widget-dist");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dist)
        .map_err(|e| format!("no widget build in {}: {e}", dist.display()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_some_and(|name| name != "index.html"))
        .collect();
    files.sort();
    let mut hash = Sha256::new();
    for file in &files {
        hash.update(std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?);
    }
    let digest: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let base = format!("/widget/{digest}/");
    let widget = assets.join(base.trim_matches('/'));
    std::fs::create_dir_all(&widget).map_err(|e| format!("cannot create {}: {e}", widget.display()))?;
    for file in &files {
        copy(file, &widget.join(file.file_name().unwrap_or_default()))?;
    }
    for script in ["embed.js", "link.js", "preview.js"] {
        run_visible(
            Command::new(tools.npm_bin.join("esbuild"))
                .arg(root.join("public").join(script))
                .args(["--minify", "--log-level=warning"])
                .arg(format!("--define:WIDGET_BASE=\"{base}\""))
                .arg(format!("--outfile={}", assets.join(script).display())),
        )?;
        let built = std::fs::read_to_string(assets.join(script)).map_err(|e| e.to_string())?;
        if built.contains("WIDGET_BASE") || !built.contains(&base) {
            return Err(format!("{script}: esbuild did not write the widget's folder in for WIDGET_BASE"));
        }
    }
    for page in ["link.html", "preview.html"] {
        copy(&root.join("public").join(page), &assets.join(page))?;
    }
    let console = assets.join("console");
    std::fs::create_dir_all(&console).map_err(|e| format!("cannot create {}: {e}", console.display()))?;
    for entry in std::fs::read_dir(root.join(CONSOLE_DIST)).map_err(|e| format!("no console build: {e}"))?.flatten() {
        copy(&entry.path(), &console.join(entry.file_name()))?;
    }
    let headers = format!(
        "/embed.js\n  Cache-Control: public, max-age={LOADER_MAX_AGE_SECONDS}\n\
         /link.js\n  Cache-Control: public, max-age={LOADER_MAX_AGE_SECONDS}\n\
         /preview.js\n  Cache-Control: public, max-age={LOADER_MAX_AGE_SECONDS}\n\
         /widget/*\n  Cache-Control: public, max-age=31536000, immutable\n  \
         Access-Control-Allow-Origin: *\n  Cross-Origin-Resource-Policy: cross-origin\n\
         /console/*\n  Cache-Control: no-cache\n  X-Content-Type-Options: nosniff\n  Referrer-Policy: same-origin\n"
    );
    std::fs::write(assets.join("_headers"), headers).map_err(|e| format!("cannot write _headers: {e}"))?;
    Ok(base)
}

fn copy(from: &Path, to: &Path) -> Result<()> {
    std::fs::copy(from, to).map(drop).map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))
}

fn timed(what: &str, action: impl FnOnce() -> Result<()>) -> Result<()> {
    let started = Instant::now();
    println!("[build] {what} ...");
    action()?;
    println!("[build] {what}: done ({:.1?})", started.elapsed());
    Ok(())
}
