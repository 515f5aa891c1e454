//! `cargo xtask deploy [--dry-run]`: the whole deploy (README "Deploy"), step by step.
//!
//! 1. settings: every credential and key the deploy needs, from the environment;
//! 2. migrations: `supabase db push` to the project (the pinned CLI, the repository's layout);
//! 3. Worker: `wrangler deploy --env production` (which builds through `[env.production.build]`)
//!    with every edge setting as a secret of that version (`--secrets-file`);
//! 4. the embed snippet.
//!
//! `--dry-run` needs no credential: it builds, asks the CLI what it would push to an empty
//! database, bundles the Worker with `wrangler deploy --dry-run` (checking its size against the
//! free plan's limit), and says what each step would do and which setting is missing.

use crate::Result;
use crate::setup::{Tools, run_visible};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// The largest Worker the Workers Free plan accepts, compressed (gzip): 3 MB.
pub const FREE_PLAN_WORKER_BYTES: u64 = 3_000_000;

/// A setting the deploy reads from the environment, and how to get it.
struct Setting {
    name: &'static str,
    secret_for_worker: bool,
    how: &'static str,
}

/// Everything the deploy reads. `SUPABASE_JWT_SIGNING_KEY` and `SUPABASE_JWT_SECRET` are
/// alternatives (the current and the legacy key system); the `AI_*` settings (the language
/// model) are optional: without them agents answer from the knowledge articles.
const SETTINGS: [Setting; 11] = [
    Setting {
        name: "SUPABASE_DB_URL",
        secret_for_worker: false,
        how: "export SUPABASE_DB_URL='postgresql://postgres.<ref>:<password>@aws-0-<region>.pooler.supabase.com:5432/postgres' \
              # Dashboard > Connect > Session pooler",
    },
    Setting {
        name: "SUPABASE_URL",
        secret_for_worker: true,
        how: "export SUPABASE_URL=https://<project-ref>.supabase.co  # Dashboard > Project Settings > Data API",
    },
    Setting {
        name: "SUPABASE_PUBLISHABLE_KEY",
        secret_for_worker: true,
        how: "export SUPABASE_PUBLISHABLE_KEY=sb_publishable_...  # Dashboard > Project Settings > API Keys",
    },
    Setting {
        name: "SUPABASE_SECRET_KEY",
        secret_for_worker: true,
        how: "export SUPABASE_SECRET_KEY=sb_secret_...  # Dashboard > Project Settings > API Keys > Secret keys",
    },
    Setting {
        name: "SUPABASE_JWT_SIGNING_KEY",
        secret_for_worker: true,
        how: "npx supabase gen signing-key --algorithm ES256 > edge-signing-key.json, import it \
              (Dashboard > Project Settings > JWT Keys > Create standby key > Import), then \
              export SUPABASE_JWT_SIGNING_KEY=\"$(cat edge-signing-key.json)\"",
    },
    Setting {
        name: "SUPABASE_JWT_SECRET",
        secret_for_worker: true,
        how: "legacy projects only, instead of SUPABASE_JWT_SIGNING_KEY: export SUPABASE_JWT_SECRET=... \
              # Dashboard > Project Settings > JWT Keys > Legacy JWT secret",
    },
    Setting {
        name: "AI_BASE_URL",
        secret_for_worker: true,
        how: "optional: export AI_BASE_URL=https://api.openai.com/v1  # any OpenAI-compatible Chat Completions endpoint",
    },
    Setting { name: "AI_API_KEY", secret_for_worker: true, how: "optional: the bearer key of AI_BASE_URL" },
    Setting {
        name: "AI_MODEL",
        secret_for_worker: true,
        how: "optional: the model for every agent (else each agent's)",
    },
    Setting {
        name: "AI_TIMEOUT_SECONDS",
        secret_for_worker: true,
        how: "optional: seconds an answer may take before a handoff (default 30)",
    },
    Setting {
        name: "CLOUDFLARE_API_TOKEN",
        secret_for_worker: false,
        how: "export CLOUDFLARE_API_TOKEN=...  # dash.cloudflare.com > My Profile > API Tokens > \
              \"Edit Cloudflare Workers\" template",
    },
];

/// Run the deploy, or with `dry_run` check all that can be checked without credentials.
pub fn run(root: &Path, dry_run: bool) -> Result<()> {
    let started = Instant::now();
    let value = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    step(1, "settings", || {
        let mut missing = Vec::new();
        for setting in &SETTINGS {
            let alternative = match setting.name {
                "SUPABASE_JWT_SIGNING_KEY" => value("SUPABASE_JWT_SECRET").is_some(),
                "SUPABASE_JWT_SECRET" => true,
                _ => false,
            };
            match value(setting.name) {
                Some(_) => println!("[deploy]   {:<26} set", setting.name),
                None if setting.name.starts_with("AI_") => {
                    println!("[deploy]   {:<26} not set (optional)", setting.name)
                }
                None if alternative => println!("[deploy]   {:<26} not needed", setting.name),
                None => {
                    println!("[deploy]   {:<26} MISSING\n[deploy]     fix: {}", setting.name, setting.how);
                    missing.push(setting.name);
                }
            }
        }
        if let Some(jwk) = value("SUPABASE_JWT_SIGNING_KEY") {
            check_signing_key(&jwk)?;
        }
        if let Some(url) = value("SUPABASE_URL") {
            check_project_url(&url)?;
        }
        match (missing.is_empty(), dry_run) {
            (true, _) => Ok(()),
            (false, true) => {
                println!("[deploy]   (dry run: a real deploy stops here until these are set)");
                Ok(())
            }
            (false, false) => Err(format!("missing settings: {} (each with its fix above)", missing.join(", "))),
        }
    })?;
    let tools = crate::setup::run(root)?;
    if dry_run {
        crate::artifacts::build(root, &tools, crate::artifacts::WidgetBuild::Size)?;
    }

    step(2, "database migrations (supabase db push)", || match (dry_run, value("SUPABASE_DB_URL")) {
        (false, Some(url)) => run_visible(supabase(root, &tools).args(["db", "push", "--yes", "--db-url", &url])),
        (false, None) => Err("SUPABASE_DB_URL is not set".into()),
        (true, _) => pending_migrations(root, &tools),
    })?;

    let worker_secrets: Vec<(&str, String)> =
        SETTINGS.iter().filter(|s| s.secret_for_worker).filter_map(|s| Some((s.name, value(s.name)?))).collect();
    let mut worker_url = String::from("https://<your worker>.workers.dev");
    step(3, "Worker and its secrets (wrangler deploy --env production --secrets-file)", || {
        if dry_run {
            let names: Vec<&str> = SETTINGS.iter().filter(|s| s.secret_for_worker).map(|s| s.name).collect();
            let size = worker_bundle_size(root, &tools)?;
            println!("[deploy]   would upload the Worker ({size} bytes gzip) and target/edge-assets");
            println!("[deploy]   with those set of the secrets {} (a deploy keeps the others)", names.join(", "));
            return Ok(());
        }
        // Uploaded with the version itself: a new Worker never runs without its settings.
        let file = root.join("target/deploy/secrets.json");
        let body: serde_json::Map<String, serde_json::Value> =
            worker_secrets.iter().map(|(name, value)| (name.to_string(), value.clone().into())).collect();
        std::fs::create_dir_all(root.join("target/deploy")).map_err(|e| e.to_string())?;
        std::fs::write(&file, serde_json::Value::Object(body).to_string()).map_err(|e| e.to_string())?;
        let out = crate::setup::output(
            wrangler(root, &tools).args(["deploy", "--env", "production", "--secrets-file"]).arg(&file),
        );
        let _ = std::fs::remove_file(&file);
        let out = out?;
        print!("{out}");
        if let Some(url) = out.split_whitespace().find(|w| w.starts_with("https://") && w.contains(".workers.dev")) {
            worker_url = url.to_string();
        }
        Ok(())
    })?;

    step(4, "embed snippet", || {
        println!(
            "[deploy]   on each customer page, before </body> (data-site: the site's site_key):\n\n  \
             <script src=\"{worker_url}/embed.js\" data-site=\"YOUR_SITE_KEY\" async></script>\n\n\
             [deploy]   temporary chat links open at {worker_url}/c/<code>\n\
             [deploy]   the console (operators' inbox, owners' settings and analytics) opens at {worker_url}/console/"
        );
        Ok(())
    })?;
    println!("[deploy] {} in {:.0?}", if dry_run { "dry run passed" } else { "deployed" }, started.elapsed());
    Ok(())
}

fn step(number: u32, what: &str, action: impl FnOnce() -> Result<()>) -> Result<()> {
    let started = Instant::now();
    println!("\n[deploy] {number}/4 {what} ...");
    action().map_err(|e| format!("deploy step {number} ({what}) failed: {e}"))?;
    println!("[deploy] {number}/4 {what}: ok ({:.1?})", started.elapsed());
    Ok(())
}

/// The pinned Supabase CLI, run from the repository root (it reads `supabase/`).
fn supabase(root: &Path, tools: &Tools) -> Command {
    let mut command = Command::new(&tools.node);
    command.arg(root.join("node_modules/supabase/dist/supabase.js")).current_dir(root).env("PATH", tools.path_env());
    command
}

/// The pinned wrangler, run in `edge/`.
pub fn wrangler(root: &Path, tools: &Tools) -> Command {
    let mut command = Command::new(&tools.node);
    command
        .arg(root.join("node_modules/wrangler/bin/wrangler.js"))
        .current_dir(root.join("edge"))
        .env("PATH", tools.path_env())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("NO_UPDATE_NOTIFIER", "1");
    command
}

/// What `supabase db push` would apply to a new project: the CLI's dry run against a new,
/// empty local database.
fn pending_migrations(root: &Path, tools: &Tools) -> Result<()> {
    let name = format!("chat_deploy_check_{}", std::process::id());
    let psql = |sql: String| {
        run_visible(Command::new("psql").args([
            "-X",
            "-q",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            &sql,
        ]))
    };
    psql(format!("create database {name}"))?;
    let url = format!("postgres://postgres@127.0.0.1:5432/{name}");
    let out = supabase(root, tools).args(["db", "push", "--dry-run", "--db-url", &url]).output();
    psql(format!("drop database {name}"))?;
    let out = out.map_err(|e| format!("cannot run the Supabase CLI: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let migrations = std::fs::read_dir(root.join("migrations")).map_err(|e| e.to_string())?.count();
    let listed = text.lines().filter(|line| line.trim_start().starts_with("• ") && line.contains(".sql")).count();
    if !out.status.success() || listed != migrations {
        return Err(format!("the Supabase CLI would push {listed} of {migrations} migrations:\n{text}"));
    }
    println!("[deploy]   the CLI would push all {migrations} migrations to a new project");
    Ok(())
}

/// Bundle the built Worker as `wrangler deploy` would, without uploading it; its compressed
/// size, which must fit the Workers Free plan.
pub fn worker_bundle_size(root: &Path, tools: &Tools) -> Result<u64> {
    let outdir = root.join("target/wrangler-dry-run");
    // The top-level environment: the same Worker as production's, without its build step
    // (the Worker was just built).
    let out = wrangler(root, tools)
        .args(["deploy", "--dry-run", "--env", "", "--outdir"])
        .arg(&outdir)
        .output()
        .map_err(|e| e.to_string())?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("wrangler deploy --dry-run failed:\n{text}"));
    }
    let gzip = upload_size(&text).ok_or_else(|| format!("wrangler printed no upload size:\n{text}"))?;
    println!(
        "[deploy]   Worker bundle: {gzip} bytes gzip ({:.0}% of the free plan's {FREE_PLAN_WORKER_BYTES})",
        gzip as f64 * 100.0 / FREE_PLAN_WORKER_BYTES as f64
    );
    if gzip > FREE_PLAN_WORKER_BYTES {
        return Err(format!("the Worker is {gzip} bytes gzip, over the Workers Free plan's {FREE_PLAN_WORKER_BYTES}"));
    }
    Ok(gzip)
}

/// The gzip size in wrangler's `Total Upload: 1234.56 KiB / gzip: 456.78 KiB`, in bytes.
fn upload_size(text: &str) -> Option<u64> {
    let line = text.lines().find(|line| line.contains("Total Upload:"))?;
    let gzip = line.split("gzip:").nth(1)?.trim();
    let (number, unit) = gzip.split_once(' ')?;
    let factor = match unit.trim() {
        "KiB" => 1024.0,
        "MiB" => 1024.0 * 1024.0,
        "B" => 1.0,
        _ => return None,
    };
    Some((number.parse::<f64>().ok()? * factor) as u64)
}

/// The signing key must be a private ES256 JWK with a kid (the edge refuses anything else).
fn check_signing_key(jwk: &str) -> Result<()> {
    let key: serde_json::Value =
        serde_json::from_str(jwk).map_err(|e| format!("SUPABASE_JWT_SIGNING_KEY is not JSON: {e}"))?;
    let has = |field: &str, value: Option<&str>| match (key.get(field).and_then(|v| v.as_str()), value) {
        (Some(found), Some(wanted)) => found == wanted,
        (Some(found), None) => !found.is_empty(),
        (None, _) => false,
    };
    if has("kty", Some("EC")) && has("crv", Some("P-256")) && has("d", None) && has("kid", None) {
        Ok(())
    } else {
        Err("SUPABASE_JWT_SIGNING_KEY must be the private ES256 JWK `supabase gen signing-key --algorithm ES256` \
             prints (kty EC, crv P-256, d, kid)"
            .into())
    }
}

/// A production project URL is https, never a local address.
fn check_project_url(url: &str) -> Result<()> {
    let local = ["localhost", "127.", "0.0.0.0", "[::1]"].iter().any(|host| url.contains(host));
    if url.starts_with("https://") && !local {
        Ok(())
    } else {
        Err(format!("SUPABASE_URL must be the project's https URL, not {url}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_wranglers_upload_line() {
        assert_eq!(upload_size("Total Upload: 1536.00 KiB / gzip: 512.50 KiB\n"), Some(524_800));
        assert_eq!(upload_size("Total Upload: 4.10 MiB / gzip: 1.00 MiB"), Some(1_048_576));
        assert_eq!(upload_size("nothing"), None);
    }

    #[test]
    fn refuses_local_urls_and_malformed_keys() {
        assert!(check_project_url("https://abcdefghijklmnop.supabase.co").is_ok());
        assert!(check_project_url("http://127.0.0.1:54321").is_err());
        assert!(check_project_url("https://localhost:54321").is_err());
        assert!(check_signing_key(r#"{"kty":"EC","crv":"P-256","d":"x","kid":"k"}"#).is_ok());
        assert!(check_signing_key(r#"{"kty":"EC","crv":"P-256","x":"x","kid":"k"}"#).is_err(), "a public key");
        assert!(check_signing_key("secret").is_err());
    }

    #[test]
    fn wrangler_toml_ships_no_setting_and_builds_for_production() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let toml = std::fs::read_to_string(root.join("edge/wrangler.toml")).unwrap();
        let code: Vec<&str> = toml.lines().filter(|line| !line.trim_start().starts_with('#')).collect();
        assert!(!code.iter().any(|line| line.contains("127.0.0.1") || line.contains("localhost")));
        assert!(!code.iter().any(|line| line.trim() == "[vars]" || line.contains("SUPABASE_")));
        assert!(code.contains(&"[env.production.build]") && code.contains(&"command = \"cargo xtask build\""));
        for setting in SETTINGS.iter().filter(|s| s.secret_for_worker) {
            assert!(toml.contains(setting.name), "wrangler.toml lists {}", setting.name);
        }
    }
}
