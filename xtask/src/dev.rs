//! `cargo xtask dev`: the whole product on this machine until Ctrl-C.

use crate::Result;
use crate::stack::{self, DEV_PORTS, Output, Stack};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// The database `dev` uses unless `DEVSTACK_DATABASE_URL` says otherwise.
const DEV_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/chat_dev";

/// Set up, build, start everything, print where it is, and stop it all on Ctrl-C.
pub fn run(root: &Path) -> Result<()> {
    let (stop_tx, stop_rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    })
    .map_err(|e| format!("cannot handle Ctrl-C: {e}"))?;

    let tools = crate::setup::run(root)?;
    let devstack = crate::artifacts::build(root, &tools, crate::artifacts::WidgetBuild::from_args())?;
    let keys = if std::env::args().any(|a| a == "--signing-keys") {
        stack::signing_keys(&devstack, &root.join("target/devstack/signing-keys.json"))?
    } else {
        stack::legacy_keys(&devstack, stack::jwt_secret(&root.join("target/devstack/jwt-secret"))?)?
    };
    let database_url = std::env::var("DEVSTACK_DATABASE_URL").unwrap_or_else(|_| DEV_DATABASE_URL.into());
    let ports = DEV_PORTS;
    let api_url = format!("http://127.0.0.1:{}", ports.api);

    let mut stack = Stack::new(Output::Terminal);
    stack.start_devstack("devstack", root, &devstack, ports, &database_url, &keys)?;
    let model = stack::model_from_env();
    stack.start_edge("edge", root, &tools, ports, &[keys.edge_vars(&api_url), model.clone()].concat())?;
    let model = model.iter().find(|(name, _)| *name == "AI_BASE_URL").map_or_else(
        || "none: agents answer from knowledge articles (set AI_BASE_URL, see README \"AI agents\")".to_string(),
        |(_, url)| url.clone(),
    );

    println!(
        "\n  Chat platform running locally\n\n  \
         Demo customer site  http://127.0.0.1:{site}\n  \
         Console             http://127.0.0.1:{edge}/console/\n  \
         Edge API + widget   http://127.0.0.1:{edge}   (e.g. /v1/sites/demo-site/widget)\n  \
         Supabase API        {api_url}   (/rest/v1, /auth/v1)\n  \
         Database            {database_url}\n  \
         Language model      {model}\n  \
         Console logins      owner@demo.test / demo-password (owner)\n                      \
         operator@demo.test / demo-password (operator)\n\n  \
         publishable key   {publishable}\n  \
         secret key        {secret}\n\n  \
         Press Ctrl-C to stop.\n",
        site = ports.site,
        edge = ports.edge,
        publishable = keys.publishable,
        secret = keys.secret,
    );
    loop {
        if stop_rx.recv_timeout(Duration::from_millis(500)).is_ok() {
            println!("\nstopping ...");
            break;
        }
        if let Some(name) = stack.exited() {
            stack.stop();
            return Err(format!("{name} stopped unexpectedly; see its output above"));
        }
    }
    stack.stop();
    println!("stopped.");
    Ok(())
}
