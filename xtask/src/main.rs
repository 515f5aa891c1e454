//! Developer commands, the cargo-xtask way (<https://github.com/matklad/cargo-xtask>).
//!
//! - `cargo xtask setup`: install what is missing (checked by version first);
//!   `--verify-fresh` runs the test command as a new machine would (empty caches).
//! - `cargo xtask build`: build the deployable artifacts (edge Worker with the widget as assets).
//! - `cargo xtask dev`: run the whole product locally until Ctrl-C.
//! - `cargo xtask deploy [--dry-run]`: deploy to a Supabase project and Cloudflare.
//! - `cargo xtask test`: run every test layer against a fresh database; `test browser [FILE...]`
//!   only the browser tests (all, or the files named), for working on them.
//! - `cargo xtask bench`: the hot queries at 10M messages, as ratios against 100k.

mod artifacts;
mod bench;
mod deploy;
mod dev;
mod fresh;
mod http;
mod setup;
mod stack;
mod test;
mod tidy;
mod widget_bundle;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Errors are messages for a person: what failed and how to fix it.
pub type Result<T, E = String> = std::result::Result<T, E>;

fn main() -> ExitCode {
    let task = std::env::args().nth(1);
    let root = project_root();
    let outcome = match task.as_deref() {
        Some("setup") if std::env::args().nth(2).as_deref() == Some("--verify-fresh") => fresh::run(&root),
        Some("setup") => setup::run(&root).map(drop),
        Some("build") => setup::run(&root)
            .and_then(|tools| artifacts::build(&root, &tools, artifacts::WidgetBuild::from_args()))
            .map(drop),
        Some("dev") => dev::run(&root),
        Some("test") => test::run(&root, test::Only::from_args(std::env::args().skip(2))),
        Some("deploy") => deploy::run(&root, std::env::args().any(|a| a == "--dry-run")),
        Some("bench") => bench::run(&root, std::env::args().nth(2).as_deref()),
        _ => {
            print_help();
            return ExitCode::from(2);
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("\nerror: {message}");
            ExitCode::FAILURE
        }
    }
}

fn print_help() {
    eprintln!(
        "Usage: cargo xtask <task>\n\n\
         Tasks:\n  \
         setup   install missing tools (pinned Rust, trunk, wasm-bindgen, worker-build, crates, Node 22, npm packages, Chromium)\n  \
         \x20       --verify-fresh: `test` and `deploy --dry-run` in a fresh clone with empty cargo, rustup and home folders\n  \
         build   build devstack, the widget (target/widget-dist) and the edge Worker (edge/build, target/edge-assets)\n  \
         dev     start PostgreSQL-backed Supabase stand-in, edge (workerd) and demo site; Ctrl-C stops all\n  \
         \x20       (build and dev) --widget-panics: the widget without the size flags, panics shown with their message\n  \
         \x20       (dev) --signing-keys: the current Supabase key system (ES256 + JWKS, sb_ API keys) instead of the legacy secret\n  \
         deploy  push migrations, set the Worker's secrets, deploy it, print the embed snippet (README \"Deploy\")\n  \
         \x20       --dry-run: check everything that needs no credential and say what would be done\n  \
         test    run unit, database, integration, conformance and browser tests on a fresh database\n  \
         \x20       browser [FILE...]: only the browser tests (every tests/e2e file, or those named)\n  \
         bench   [queries|api] hot queries at 10M messages vs 100k; POST /v1/messages vs a read (same run)"
    );
}

/// The repository root (the parent of `xtask/`).
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask lives in the repository").to_path_buf()
}
