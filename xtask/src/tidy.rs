//! Repository rules that plain `cargo test` enforces.

#[cfg(test)]
mod tests {
    use crate::setup::{RUST_TOOLCHAIN, TRUNK, WASM_BINDGEN, WORKER_BUILD};

    fn read(path: &str) -> String {
        std::fs::read_to_string(crate::project_root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// wasm-bindgen's CLI must be exactly the crate's version, or the generated glue breaks.
    #[test]
    fn wasm_bindgen_versions_agree() {
        let lock = read("Cargo.lock");
        let locked = lock
            .split("[[package]]")
            .find(|p| p.contains("\nname = \"wasm-bindgen\"\n"))
            .and_then(|p| p.lines().find_map(|l| l.strip_prefix("version = \"")))
            .map(|v| v.trim_end_matches('"'))
            .expect("wasm-bindgen in Cargo.lock");
        assert_eq!(locked, WASM_BINDGEN, "Cargo.lock vs xtask setup");
        assert!(
            read("Trunk.toml").contains(&format!("wasm_bindgen = \"{WASM_BINDGEN}\"")),
            "Trunk.toml vs xtask setup"
        );
        assert!(
            read("Cargo.toml").contains(&format!("wasm-bindgen = \"={WASM_BINDGEN}\"")),
            "Cargo.toml vs xtask setup"
        );
    }

    /// One pinned compiler: `rust-toolchain.toml` (with what the widget's build needs), what
    /// setup checks, the workspace's `rust-version` and the README say the same version.
    #[test]
    fn the_toolchain_is_pinned_in_one_version() {
        let root = crate::project_root();
        assert_eq!(crate::setup::pinned_toolchain(&root).unwrap(), RUST_TOOLCHAIN, "rust-toolchain.toml vs setup");
        let file = read("rust-toolchain.toml");
        for needed in ["\"rust-src\"", "\"wasm32-unknown-unknown\"", "\"rustfmt\"", "\"clippy\""] {
            assert!(file.contains(needed), "rust-toolchain.toml lacks {needed}");
        }
        let minor = RUST_TOOLCHAIN.rsplit_once('.').map(|(minor, _)| minor).unwrap();
        assert!(
            read("Cargo.toml").contains(&format!("rust-version = \"{minor}\"")),
            "Cargo.toml rust-version vs setup"
        );
        let readme = read("README.md");
        assert!(readme.contains(&format!("Rust {RUST_TOOLCHAIN}")), "README names another Rust version");
        assert!(readme.contains("rust-toolchain.toml"), "README does not say where the toolchain is pinned");
        for (tool, version) in [("trunk", TRUNK), ("worker-build", WORKER_BUILD), ("wasm-bindgen", WASM_BINDGEN)] {
            assert!(readme.contains(&format!("{tool} {version}")), "README does not name {tool} {version}");
        }
    }

    /// Every file of `tests/tests/` runs in exactly one layer of `cargo xtask test`.
    #[test]
    fn every_stack_test_belongs_to_a_layer() {
        let dir = crate::project_root().join("tests/tests");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.strip_suffix(".rs").map(str::to_string))
            .collect();
        files.sort();
        let mut layered: Vec<String> = crate::test::DATABASE_TESTS
            .iter()
            .chain(crate::test::INTEGRATION_TESTS.iter())
            .map(|s| s.to_string())
            .collect();
        layered.sort();
        assert_eq!(files, layered);
    }

    /// Limits live in `chat_core::limits` only: no length or count is written as a number
    /// where the widget, the client or the edge bounds text (`maxlength`, `chars().take(..)`, a
    /// comparison of a character count, a `MAX_` count). Tests are not read.
    #[test]
    fn no_number_duplicates_a_limit() {
        let mut found = Vec::new();
        for dir in ["widget/src", "client/src", "edge/src"] {
            for file in
                files(&crate::project_root().join(dir)).iter().filter(|p| p.extension().is_some_and(|x| x == "rs"))
            {
                let text = std::fs::read_to_string(file).unwrap();
                let text = text.split("#[cfg(test)]").next().unwrap_or_default();
                for (number, line) in text.lines().enumerate().filter(|(_, l)| duplicates_a_limit(l)) {
                    found.push(format!("{}:{}: {}", file.display(), number + 1, line.trim()));
                }
            }
        }
        assert!(found.is_empty(), "use chat_core::limits:\n{}", found.join("\n"));
        assert!(duplicates_a_limit(r#"<textarea maxlength="1000">"#) && duplicates_a_limit("ua.chars().take(1000)"));
        assert!(duplicates_a_limit("n.chars().count() > 120") && duplicates_a_limit("const MAX_CHARS: usize = 5000;"));
        assert!(!duplicates_a_limit("const TICK: Duration = Duration::from_millis(1000);"));
    }

    /// Whether `line` bounds text or a count with a number written out.
    fn duplicates_a_limit(line: &str) -> bool {
        let digit_after = |pattern: &str| {
            line.match_indices(pattern).any(|(at, _)| {
                line[at + pattern.len()..].trim_start_matches([' ', '"', '=']).starts_with(|c: char| c.is_ascii_digit())
            })
        };
        digit_after("maxlength")
            || digit_after("chars().take(")
            || digit_after("count() >")
            || digit_after("count() <")
            || (line.contains("const MAX_") && digit_after(": usize = "))
    }

    /// Every environment variable the code reads is in the README (but those the system and
    /// cargo set, `OUT_DIR` for a build script among them).
    #[test]
    fn every_variable_read_is_documented() {
        let readme = read("README.md");
        let mut missing = std::collections::BTreeSet::new();
        for dir in ["core", "client", "widget", "edge", "devstack", "xtask", "tests", "bench", "public"] {
            for file in files(&crate::project_root().join(dir)).into_iter().filter(|f| !f.ends_with("tidy.rs")) {
                let text = std::fs::read_to_string(&file).unwrap_or_default();
                for name in variables_read(&text, dir == "tests") {
                    if !["CARGO", "CARGO_HOME", "HOME", "OUT_DIR", "PATH"].contains(&name.as_str())
                        && !readme.contains(&format!("`{name}`"))
                    {
                        missing.insert(name);
                    }
                }
            }
        }
        assert!(missing.is_empty(), "read but not in the README's variables: {missing:?}");
        let sample = r#"std::env::var("A_B") var(env, "C") process.env.D_E env("F") .env("G", "set")"#;
        assert_eq!(variables_read(sample, false), ["A_B", "C", "D_E"]);
        assert_eq!(variables_read(sample, true), ["A_B", "C", "D_E", "F"]);
    }

    /// The names `text` reads from the environment: `env::var("…")`, `env::var_os("…")`, the
    /// edge's `var(env, "…")`, Node's `process.env.…`, and in the stack tests their `env("…")`
    /// helper (elsewhere `.env("…", …)` sets a variable for a child process).
    fn variables_read(text: &str, stack_tests: bool) -> Vec<String> {
        let mut names = Vec::new();
        let patterns: &[&str] = if stack_tests {
            &["var(\"", "var_os(\"", "var(env, \"", "process.env.", " env(\""]
        } else {
            &["var(\"", "var_os(\"", "var(env, \"", "process.env."]
        };
        for pattern in patterns {
            for (at, _) in text.match_indices(pattern) {
                let name: String = text[at + pattern.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    names.push(name);
                }
            }
        }
        names
    }

    /// The Rust and JavaScript files under `dir`, at any depth (no `node_modules`).
    fn files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
        let mut found = Vec::new();
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() && !path.ends_with("node_modules") {
                found.extend(files(&path));
            } else if path.extension().is_some_and(|x| ["rs", "mjs", "js"].contains(&x.to_str().unwrap_or(""))) {
                found.push(path);
            }
        }
        found
    }

    /// `.ci/run` runs exactly the README's test command.
    #[test]
    fn ci_runs_the_readme_test_command() {
        assert!(read("README.md").contains("cargo xtask test"));
        assert!(read(".ci/run").lines().any(|l| l.trim() == "exec cargo xtask test"));
    }
}
