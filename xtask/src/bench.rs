//! `cargo xtask bench`: the benchmarks under `bench/`, each against a fresh database, each
//! printing ratios against a baseline measured in the same run (machines here are noisy).

use crate::Result;
use crate::setup::run_visible;
use std::path::Path;
use std::process::Command;

/// Run every benchmark.
pub fn run(root: &Path) -> Result<()> {
    run_visible(crate::artifacts::cargo(root).args(["build", "--package", "devstack"]))?;
    let devstack = root.join("target/debug/devstack");
    let database_url = format!("postgres://postgres@127.0.0.1:5432/chat_bench_{}", std::process::id());
    let with_db = |command: &mut Command| -> Result<()> {
        run_visible(
            command
                .current_dir(root)
                .env("DEVSTACK_DATABASE_URL", &database_url)
                .env("DEVSTACK_ROOT", root)
                .env("JWT_SECRET", "bench-only-secret-that-signs-nothing-at-all"),
        )
    };
    with_db(Command::new(&devstack).args(["prepare", "--no-seed"]))?;
    let outcome = with_db(Command::new("psql").args(["-X", "-q", "-f", "bench/hot_queries.sql", &database_url]));
    let dropped = with_db(Command::new(&devstack).arg("drop-database"));
    outcome?;
    dropped
}
