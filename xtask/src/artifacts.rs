//! Building what the stack runs: the dev stack binary, the widget (trunk) and the edge
//! Worker (worker-build), plus the static assets the Worker serves.

use crate::Result;
use crate::setup::{Tools, run_visible};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Where the Worker's static assets are assembled (`[assets]` in edge/wrangler.toml).
pub const EDGE_ASSETS: &str = "target/edge-assets";

/// Build everything; returns the dev stack binary.
pub fn build(root: &Path, tools: &Tools) -> Result<PathBuf> {
    timed("devstack", || run_visible(cargo(root).args(["build", "--package", "devstack"])))?;
    timed("widget (trunk, wasm)", || {
        run_visible(
            Command::new(tools.cargo_bin.join("trunk"))
                .args(["--skip-version-check", "build", "--release"])
                .current_dir(root)
                .env("PATH", tools.path_env())
                .env("NO_COLOR", "true"),
        )
    })?;
    timed("widget JS glue (esbuild --minify)", || {
        // Trunk's own minifier fails on wasm-bindgen 0.2.130's glue; esbuild does not.
        let glue = root.join("target/widget-dist/chat-widget.js");
        run_visible(
            Command::new(tools.npm_bin.join("esbuild"))
                .arg(&glue)
                .args(["--minify", "--format=esm", "--log-level=warning", "--allow-overwrite"])
                .arg(format!("--outfile={}", glue.display())),
        )
    })?;
    timed("edge assets", || assemble_assets(root, tools))?;
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

/// `cargo`, as the one running xtask.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(root);
    command
}

/// Put `public/embed.js` and `public/link.js` (minified), the link page (`public/link.html`) and
/// the trunk output (minus its throwaway index.html) into the Worker's asset directory.
fn assemble_assets(root: &Path, tools: &Tools) -> Result<()> {
    let assets = root.join(EDGE_ASSETS);
    let widget = assets.join("widget");
    let _ = std::fs::remove_dir_all(&assets);
    std::fs::create_dir_all(&widget).map_err(|e| format!("cannot create {}: {e}", widget.display()))?;
    for script in ["embed.js", "link.js"] {
        run_visible(
            Command::new(tools.npm_bin.join("esbuild"))
                .arg(root.join("public").join(script))
                .args(["--minify", "--log-level=warning"])
                .arg(format!("--outfile={}", assets.join(script).display())),
        )?;
    }
    copy(&root.join("public/link.html"), &assets.join("link.html"))?;
    let dist = root.join("target/widget-dist");
    let entries = std::fs::read_dir(&dist).map_err(|e| format!("no widget build in {}: {e}", dist.display()))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name != "index.html" {
            copy(&entry.path(), &widget.join(&name))?;
        }
    }
    Ok(())
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
