//! The sites the signed-in user works on, their role on each, and the site the console shows
//! (kept across reloads).

use crate::auth::Auth;
use crate::project::sentence;
use crate::store;
use chat_client::call::CallError;
use chat_core::settings::{SITE_COLUMNS, SiteRow};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// Most rows a section lists from one table.
const LISTED: &str = "1000";

/// The rows of `table` that belong to `site_id` (`columns`, in `order`), read again whenever
/// `version` changes.
pub fn site_rows<T: DeserializeOwned + 'static>(
    auth: Auth,
    site_id: Uuid,
    (table, columns, order): (&'static str, &'static str, &'static str),
    version: RwSignal<u32>,
) -> LocalResource<Result<Vec<T>, CallError>> {
    LocalResource::new(move || {
        version.track();
        async move {
            let token = auth.token().unwrap_or_default();
            let filter = format!("eq.{site_id}");
            let query = [("select", columns), ("site_id", filter.as_str()), ("order", order), ("limit", LISTED)];
            auth.project().select::<Vec<T>>(&token, table, &query).await
        }
    })
}

/// Where the site shown last is kept.
const CURRENT_KEY: &str = "console:site";

/// A site and the signed-in user's role there.
#[derive(Clone, Debug, PartialEq)]
pub struct MySite {
    /// The site as its owners edit it.
    pub row: SiteRow,
    /// `owner`, `admin`, `operator` or `viewer`.
    pub role: String,
}

impl MySite {
    /// Whether the user manages this site (its settings, team, links and analytics).
    pub fn manages(&self) -> bool {
        matches!(self.role.as_str(), "owner" | "admin")
    }
}

#[derive(Deserialize)]
struct Membership {
    site_id: Uuid,
    role: String,
}

/// The user's sites and the one shown; cheap to copy.
#[derive(Clone, Copy)]
pub struct Sites {
    auth: Auth,
    /// The sites, once loaded (or why they could not be).
    pub list: RwSignal<Option<Result<Vec<MySite>, String>>>,
    /// The site shown.
    pub current: RwSignal<Option<Uuid>>,
}

impl Sites {
    /// Load the signed-in user's sites, after accepting the invitations to their address.
    pub fn load(auth: Auth) -> Self {
        let sites = Self { auth, list: RwSignal::new(None), current: RwSignal::new(store::load(CURRENT_KEY)) };
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            // A failure here leaves the invitations pending for the next sign-in.
            let _ = auth.project().rpc::<Vec<Uuid>>(&token, "accept_invitations", &serde_json::json!({})).await;
            sites.reload();
        });
        sites
    }

    /// Read the sites again (after one was created or renamed).
    pub fn reload(self) {
        spawn_local(async move {
            let loaded = self.fetch().await;
            if let Ok(sites) = &loaded {
                let kept = self.current.get_untracked().filter(|id| sites.iter().any(|s| s.row.id == *id));
                let shown = kept.or_else(|| sites.first().map(|s| s.row.id));
                if shown != self.current.get_untracked() {
                    self.current.set(shown);
                }
            }
            self.list.set(Some(loaded));
        });
    }

    async fn fetch(self) -> Result<Vec<MySite>, String> {
        let project = self.auth.project();
        let token = self.auth.token().unwrap_or_default();
        let me = self.auth.session.with_untracked(|s| s.as_ref().map(|s| s.user.id.to_string())).unwrap_or_default();
        let rows = project
            .select::<Vec<SiteRow>>(&token, "sites", &[("select", SITE_COLUMNS), ("order", "name,id")])
            .await
            .map_err(|e| sentence(&e))?;
        let memberships = project
            .select::<Vec<Membership>>(
                &token,
                "site_members",
                &[("select", "site_id,role"), ("user_id", &format!("eq.{me}"))],
            )
            .await
            .map_err(|e| sentence(&e))?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                let role = memberships.iter().find(|m| m.site_id == row.id)?.role.clone();
                Some(MySite { row, role })
            })
            .collect())
    }

    /// Who is signed in.
    pub fn auth(self) -> Auth {
        self.auth
    }

    /// Show the site `id`.
    pub fn pick(self, id: Uuid) {
        store::save(CURRENT_KEY, Some(&id));
        self.current.set(Some(id));
    }

    /// The site shown, with the user's role there (tracked).
    pub fn shown(self) -> Option<MySite> {
        let id = self.current.get()?;
        self.list.with(|list| list.as_ref()?.as_ref().ok()?.iter().find(|s| s.row.id == id).cloned())
    }

    /// The user's sites (tracked); none while loading or after a failure.
    pub fn all(self) -> Vec<MySite> {
        self.list.with(|list| list.as_ref().and_then(|l| l.as_ref().ok()).cloned().unwrap_or_default())
    }

    /// Replace one site's row after it was saved.
    pub fn saved(self, row: SiteRow) {
        self.list.update(|list| {
            if let Some(Ok(sites)) = list
                && let Some(site) = sites.iter_mut().find(|s| s.row.id == row.id)
            {
                site.row = row;
            }
        });
    }
}
