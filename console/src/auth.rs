//! Who is signed in: the Auth session, kept in `localStorage` across reloads and refreshed
//! before it expires (checked every 15 s, so a console left open overnight, or a laptop waking
//! up, refreshes on its next check).

use crate::project::Project;
use crate::store;
use chat_client::auth::{AuthSession, PasswordGrant, SignUp};
use chat_client::timing::refresh_due;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_use_interval_fn::use_interval_fn;

/// Where the session is saved.
const STORAGE_KEY: &str = "chat-console:auth";
/// How often the session's expiry is checked.
const CHECK_EVERY_MS: u64 = 15_000;

/// The signed-in session and the project it belongs to; cheap to copy.
#[derive(Clone, Copy)]
pub struct Auth {
    /// The session, `None` when signed out.
    pub session: RwSignal<Option<AuthSession>>,
    project: StoredValue<Project>,
    refreshing: StoredValue<bool>,
}

impl Auth {
    /// The saved session (refreshed at once if it is due), with its refresh check running.
    pub fn start(project: Project) -> Self {
        let auth = Self {
            session: RwSignal::new(store::load(STORAGE_KEY)),
            project: StoredValue::new(project),
            refreshing: StoredValue::new(false),
        };
        use_interval_fn(move || auth.refresh_if_due(), CHECK_EVERY_MS);
        auth.refresh_if_due();
        auth
    }

    /// The project's APIs.
    pub fn project(self) -> Project {
        self.project.get_value()
    }

    /// The access token, when signed in.
    pub fn token(self) -> Option<String> {
        self.session.with_untracked(|s| s.as_ref().map(|s| s.access_token.clone()))
    }

    /// Sign in; `Err` holds what to tell the person.
    pub async fn sign_in(self, email: String, password: String) -> Result<(), String> {
        let session = self.project().sign_in(&PasswordGrant { email, password }).await.map_err(|r| r.sentence())?;
        self.set(Some(session));
        Ok(())
    }

    /// Create an account and sign in with it; `Ok(Some(..))` when its address must be
    /// confirmed first (what to tell the person), `Err` when it was refused.
    pub async fn sign_up(self, email: String, password: String) -> Result<Option<String>, String> {
        match self.project().sign_up(&PasswordGrant { email, password }).await.map_err(|r| r.sentence())? {
            SignUp::Session(session) => {
                self.set(Some(session));
                Ok(None)
            }
            SignUp::Confirm(user) => Ok(Some(format!(
                "We sent a confirmation link to {}. Open it, then sign in here.",
                user.email.unwrap_or_else(|| "your address".into())
            ))),
        }
    }

    /// Sign out here and on the server.
    pub fn sign_out(self) {
        let token = self.token();
        self.set(None);
        if let Some(token) = token {
            let project = self.project();
            spawn_local(async move { project.sign_out(&token).await });
        }
    }

    fn refresh_if_due(self) {
        let due = self.session.with_untracked(|s| {
            s.as_ref().filter(|s| refresh_due(s.expires_at, js_sys::Date::now())).map(|s| s.refresh_token.clone())
        });
        let Some(refresh_token) = due else { return };
        if self.refreshing.get_value() {
            return;
        }
        self.refreshing.set_value(true);
        spawn_local(async move {
            match self.project().refresh(&refresh_token).await {
                Ok(session) => self.set(Some(session)),
                // Spent or revoked: sign in again. Anything else: the next check tries again.
                Err(refusal) if refusal.ends_session() => self.set(None),
                Err(_) => {}
            }
            self.refreshing.set_value(false);
        });
    }

    fn set(self, session: Option<AuthSession>) {
        store::save(STORAGE_KEY, session.as_ref());
        self.session.set(session);
    }
}
