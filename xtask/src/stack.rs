//! Running the stack's processes: the dev stack and the edge in workerd.
//!
//! Each child runs in its own process group, so stopping it also stops what it started
//! (wrangler starts workerd). Dropping a [`Stack`] stops everything it started. The dev stack
//! and the edge are kept running: if one dies it is started again, as a service manager would
//! (the browser tests kill them mid-chat on purpose); the current pid (= process group) is in
//! `<logs>/<name>.pid`.

use crate::Result;
use crate::http::wait_until_up;
use crate::setup::Tools;
use std::fs::{File, OpenOptions};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The ports one stack listens on.
#[derive(Clone, Copy)]
pub struct Ports {
    /// Supabase stand-in API (`/rest/v1`, `/auth/v1`).
    pub api: u16,
    /// Demo customer site.
    pub site: u16,
    /// Edge Worker.
    pub edge: u16,
    /// wrangler's inspector (must differ between concurrent wranglers).
    pub inspector: u16,
    /// The language-model stand-in (tests only; 0: none).
    pub model: u16,
}

/// The ports `supabase start` and `wrangler dev` use by default.
pub const DEV_PORTS: Ports = Ports { api: 54321, site: 8080, edge: 8787, inspector: 9229, model: 0 };

/// The bearer key the model stand-in wants from the deployment (not a secret: tests only).
pub const STANDIN_KEY: &str = "stand-in-deployment-key";
/// The bearer key the model stand-in wants from a site's own provider settings.
pub const STANDIN_SITE_KEY: &str = "stand-in-site-key";
/// The edge's language-model settings (README "AI agents"), by name.
pub const MODEL_SETTINGS: [&str; 4] = ["AI_BASE_URL", "AI_API_KEY", "AI_MODEL", "AI_TIMEOUT_SECONDS"];

/// The edge's settings for the model stand-in on `port`: a short timeout, so the tests of a
/// slow provider do not wait long.
pub fn standin_model(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("AI_BASE_URL", format!("http://127.0.0.1:{port}/v1")),
        ("AI_API_KEY", STANDIN_KEY.to_string()),
        ("AI_TIMEOUT_SECONDS", "4".to_string()),
    ]
}

/// The edge's model settings from this process's environment (`cargo xtask dev`): none unless
/// `AI_BASE_URL` is set.
pub fn model_from_env() -> Vec<(&'static str, String)> {
    if std::env::var("AI_BASE_URL").is_ok_and(|url| !url.trim().is_empty()) {
        MODEL_SETTINGS.iter().filter_map(|name| std::env::var(name).ok().map(|value| (*name, value))).collect()
    } else {
        Vec::new()
    }
}

/// The project's keys in one of Supabase's key systems, as `devstack keys` prints them.
pub struct Keys {
    /// The public API key: `sb_publishable_…`, or the legacy `anon` JWT.
    pub publishable: String,
    /// The secret API key (bypasses RLS): `sb_secret_…`, or the legacy `service_role` JWT.
    pub secret: String,
    /// How tokens are signed and checked.
    pub system: KeySystem,
}

/// How a project signs and checks tokens (README "Key systems").
pub enum KeySystem {
    /// One HS256 secret.
    Legacy {
        /// The JWT secret.
        jwt_secret: String,
    },
    /// ES256 signing keys: Auth's, and the one imported for the edge.
    SigningKeys {
        /// The devstack's keys file (`DEVSTACK_SIGNING_KEYS`).
        file: PathBuf,
        /// Auth's private JWK (tests sign user tokens with it).
        auth: String,
        /// The edge's private JWK (`SUPABASE_JWT_SIGNING_KEY`).
        edge: String,
    },
}

impl Keys {
    /// What the devstack reads its keys from.
    pub fn devstack_env(&self) -> Vec<(&'static str, String)> {
        match &self.system {
            KeySystem::Legacy { jwt_secret } => vec![("JWT_SECRET", jwt_secret.clone())],
            KeySystem::SigningKeys { file, .. } => vec![("DEVSTACK_SIGNING_KEYS", file.display().to_string())],
        }
    }

    /// The edge's settings, talking to the API at `api_url`.
    pub fn edge_vars(&self, api_url: &str) -> Vec<(&'static str, String)> {
        let mut vars = vec![
            ("SUPABASE_URL", api_url.to_string()),
            ("SUPABASE_PUBLISHABLE_KEY", self.publishable.clone()),
            ("SUPABASE_SECRET_KEY", self.secret.clone()),
        ];
        match &self.system {
            KeySystem::Legacy { jwt_secret } => vars.push(("SUPABASE_JWT_SECRET", jwt_secret.clone())),
            KeySystem::SigningKeys { edge, .. } => vars.push(("SUPABASE_JWT_SIGNING_KEY", edge.clone())),
        }
        vars
    }

    /// What the tests read (`STACK_*`).
    pub fn test_env(&self) -> Vec<(&'static str, String)> {
        let mut env =
            vec![("STACK_PUBLISHABLE_KEY", self.publishable.clone()), ("STACK_SECRET_KEY", self.secret.clone())];
        match &self.system {
            KeySystem::Legacy { jwt_secret } => env.push(("STACK_JWT_SECRET", jwt_secret.clone())),
            KeySystem::SigningKeys { auth, edge, .. } => {
                env.extend([("STACK_AUTH_SIGNING_KEY", auth.clone()), ("STACK_EDGE_SIGNING_KEY", edge.clone())])
            }
        }
        env
    }
}

/// Where output goes: the terminal (dev) or one log file per process (tests).
#[derive(Clone)]
pub enum Output {
    /// Inherit the terminal.
    Terminal,
    /// Write `<dir>/<name>.log`.
    Logs(PathBuf),
}

/// Running processes, stopped on drop.
pub struct Stack {
    children: Vec<(String, Child)>,
    output: Output,
    keepers: Vec<(Arc<AtomicBool>, JoinHandle<()>)>,
}

impl Stack {
    /// An empty stack writing to `output`.
    pub fn new(output: Output) -> Self {
        Self { children: Vec::new(), output, keepers: Vec::new() }
    }

    /// Where a kept process's pid is written (tests read it to kill the process group).
    pub fn pid_file(&self, name: &str) -> Option<PathBuf> {
        match &self.output {
            Output::Logs(dir) => Some(dir.join(format!("{name}.pid"))),
            Output::Terminal => None,
        }
    }

    /// Start the dev stack serving `database_url` as `name`, and wait for its API.
    pub fn start_devstack(
        &mut self,
        name: &str,
        root: &Path,
        binary: &Path,
        ports: Ports,
        database_url: &str,
        keys: &Keys,
    ) -> Result<()> {
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .current_dir(root)
            .env("DEVSTACK_DATABASE_URL", database_url)
            .env("DEVSTACK_API_ADDR", format!("127.0.0.1:{}", ports.api))
            .env("DEVSTACK_SITE_ADDR", format!("127.0.0.1:{}", ports.site))
            .env("DEVSTACK_EDGE_URL", format!("http://127.0.0.1:{}", ports.edge))
            .env("DEVSTACK_ROOT", root)
            .envs(keys.devstack_env());
        self.spawn(name, &mut command)?;
        self.wait(name, ports.api, "/auth/v1/health", Duration::from_secs(60))?;
        self.keep(name, command);
        Ok(())
    }

    /// Start the language-model stand-in (`tests/stand-ins/model.mjs`) on `port`: it wants
    /// [`STANDIN_KEY`] on `/v1` and [`STANDIN_SITE_KEY`] on `/site/v1` (a site's own provider).
    pub fn start_model(&mut self, name: &str, root: &Path, tools: &Tools, port: u16) -> Result<()> {
        let mut command = Command::new(&tools.node);
        command
            .arg(root.join("tests/stand-ins/model.mjs"))
            .args(["--port", &port.to_string(), "--key", STANDIN_KEY, "--site-key", STANDIN_SITE_KEY])
            .current_dir(root);
        self.spawn(name, &mut command)?;
        self.wait(name, port, "/health", Duration::from_secs(30))?;
        self.keep(name, command);
        Ok(())
    }

    /// Hands a started child to a keeper thread that starts it again whenever it exits.
    fn keep(&mut self, name: &str, mut command: Command) {
        let Some(index) = self.children.iter().position(|(n, _)| n == name) else { return };
        let (name, mut child) = self.children.remove(index);
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let output = self.output.clone();
        let pid_file = self.pid_file(&name);
        let write_pid = move |child: &Child| {
            if let Some(file) = &pid_file {
                let _ = std::fs::write(file, child.id().to_string());
            }
        };
        write_pid(&child);
        let handle = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(200));
                if !matches!(child.try_wait(), Ok(Some(_))) {
                    continue;
                }
                println!("[stack] {name} exited; starting it again");
                if let Output::Logs(dir) = &output
                    && let Ok(log) = OpenOptions::new().append(true).create(true).open(dir.join(format!("{name}.log")))
                    && let Ok(copy) = log.try_clone()
                {
                    command.stdout(copy).stderr(log);
                }
                match command.spawn() {
                    Ok(fresh) => {
                        child = fresh;
                        write_pid(&child);
                    }
                    Err(error) => println!("[stack] cannot start {name} again: {error}"),
                }
            }
            stop_child(&name, &mut child, Instant::now() + Duration::from_secs(5));
        });
        self.keepers.push((stop, handle));
    }

    /// Start the edge in workerd (`wrangler dev`) with its `settings` (`Keys::edge_vars`, and
    /// the language model's).
    pub fn start_edge(
        &mut self,
        name: &str,
        root: &Path,
        tools: &Tools,
        ports: Ports,
        settings: &[(&'static str, String)],
    ) -> Result<()> {
        let state = root.join("target/wrangler");
        let mut command = Command::new(&tools.node);
        command
            .arg(root.join("node_modules/wrangler/bin/wrangler.js"))
            .args(["dev", "--local", "--ip", "127.0.0.1", "--show-interactive-dev-session=false", "--test-scheduled"])
            .args(["--port", &ports.edge.to_string(), "--inspector-port", &ports.inspector.to_string()])
            .arg("--persist-to")
            .arg(state.join("state"))
            .args(settings.iter().flat_map(|(name, value)| ["--var".to_string(), format!("{name}:{value}")]))
            .current_dir(root.join("edge"))
            .env("PATH", tools.path_env())
            .env("XDG_CONFIG_HOME", state.join("config"))
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("NO_UPDATE_NOTIFIER", "1");
        self.spawn(name, &mut command)?;
        self.wait(name, ports.edge, "/v1/health-check", Duration::from_secs(120))?;
        self.keep(name, command);
        Ok(())
    }

    fn spawn(&mut self, name: &str, command: &mut Command) -> Result<()> {
        command.process_group(0).stdin(Stdio::null());
        if let Output::Logs(dir) = &self.output {
            std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            let log = File::create(dir.join(format!("{name}.log"))).map_err(|e| e.to_string())?;
            command.stdout(log.try_clone().map_err(|e| e.to_string())?).stderr(log);
        }
        let child = command.spawn().map_err(|e| format!("cannot start {name}: {e}"))?;
        self.children.push((name.to_string(), child));
        Ok(())
    }

    fn wait(&mut self, name: &str, port: u16, path: &str, timeout: Duration) -> Result<()> {
        let started = Instant::now();
        while started.elapsed() < timeout {
            if let Some(exited) = self.exited() {
                return Err(format!("{exited} exited during start-up{}", self.log_hint(&exited)));
            }
            if wait_until_up(name, port, path, Duration::from_millis(500)).is_ok() {
                println!("[stack] {name} is up on 127.0.0.1:{port} ({:.1?})", started.elapsed());
                return Ok(());
            }
        }
        Err(format!("{name} did not come up on port {port} within {timeout:?}{}", self.log_hint(name)))
    }

    /// The name of a child that has exited, if any.
    pub fn exited(&mut self) -> Option<String> {
        self.children.iter_mut().find_map(|(name, child)| matches!(child.try_wait(), Ok(Some(_))).then(|| name.clone()))
    }

    fn log_hint(&self, name: &str) -> String {
        match &self.output {
            Output::Logs(dir) => format!("; see {}", dir.join(format!("{name}.log")).display()),
            Output::Terminal => String::new(),
        }
    }

    /// Stop every process group: SIGTERM, then SIGKILL after five seconds.
    pub fn stop(&mut self) {
        for (stop, _) in &self.keepers {
            stop.store(true, Ordering::Relaxed);
        }
        for (_, handle) in self.keepers.drain(..) {
            let _ = handle.join();
        }
        for (_, child) in &self.children {
            signal_group(child, "TERM");
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        for (name, child) in &mut self.children {
            stop_child(name, child, deadline);
        }
        self.children.clear();
    }
}

/// SIGTERM (if not sent yet, harmless twice), then SIGKILL at `deadline`.
fn stop_child(name: &str, child: &mut Child, deadline: Instant) {
    signal_group(child, "TERM");
    while Instant::now() < deadline && matches!(child.try_wait(), Ok(None)) {
        std::thread::sleep(Duration::from_millis(100));
    }
    if matches!(child.try_wait(), Ok(None)) {
        println!("[stack] {name} ignored SIGTERM; killing it");
    }
    signal_group(child, "KILL");
    let _ = child.wait();
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), "--", &format!("-{}", child.id())])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The JWT secret in `file`, created (random, 48 hex characters) when missing.
pub fn jwt_secret(file: &Path) -> Result<String> {
    if let Ok(secret) = std::fs::read_to_string(file)
        && secret.trim().len() >= 32
    {
        return Ok(secret.trim().to_string());
    }
    let mut bytes = [0u8; 24];
    use std::io::Read;
    File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).map_err(|e| e.to_string())?;
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(file, &secret).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    Ok(secret)
}

/// The legacy system's keys for `jwt_secret`, as `devstack keys` mints them.
pub fn legacy_keys(devstack: &Path, jwt_secret: String) -> Result<Keys> {
    let out = crate::setup::output(Command::new(devstack).arg("keys").env("JWT_SECRET", &jwt_secret))?;
    Ok(Keys {
        publishable: printed(&out, "ANON_KEY")?,
        secret: printed(&out, "SERVICE_ROLE_KEY")?,
        system: KeySystem::Legacy { jwt_secret },
    })
}

/// The signing-keys system's keys from `file` (created by `devstack keys` when missing).
pub fn signing_keys(devstack: &Path, file: &Path) -> Result<Keys> {
    let out = crate::setup::output(Command::new(devstack).arg("keys").env("DEVSTACK_SIGNING_KEYS", file))?;
    Ok(Keys {
        publishable: printed(&out, "PUBLISHABLE_KEY")?,
        secret: printed(&out, "SECRET_KEY")?,
        system: KeySystem::SigningKeys {
            file: file.to_path_buf(),
            auth: printed(&out, "AUTH_SIGNING_KEY")?,
            edge: printed(&out, "EDGE_SIGNING_KEY")?,
        },
    })
}

/// The value of a `NAME=value` line `devstack keys` printed.
fn printed(out: &str, name: &str) -> Result<String> {
    out.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
        .map(str::to_string)
        .ok_or_else(|| format!("devstack keys printed no {name}"))
}
