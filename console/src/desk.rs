//! The signed-in person at one site's desk: who they are there, their colleagues, the live
//! connection, and their status (online, away, offline), which is their presence on the
//! site's topic: the widget says "We're online" while an operator is present, and the
//! assignment hands conversations only to operators online.

use crate::auth::Auth;
use crate::live::Live;
use chat_core::inbox::{MEMBER_COLUMNS, Member};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Serialize;
use thaw::*;
use uuid::Uuid;

/// A site's desk as the signed-in user sits at it; cheap to copy.
#[derive(Clone, Copy)]
pub struct Desk {
    /// Who is signed in.
    pub auth: Auth,
    /// The console's Realtime connection.
    pub live: Live,
    /// The site.
    pub site_id: Uuid,
    /// The signed-in user.
    pub me: Uuid,
    /// Everyone who works on the site (the signed-in user included).
    pub members: RwSignal<Vec<Member>>,
    /// The user ids present on the site's topic (operators online right now).
    pub present: ReadSignal<Vec<String>>,
}

/// What the console tracks on the site's topic while its user is online.
#[derive(Serialize)]
struct Online<'a> {
    name: &'a str,
}

impl Desk {
    /// The desk of `site_id` for the signed-in user: members loaded, presence watched.
    pub fn open(auth: Auth, live: Live, site_id: Uuid) -> Self {
        let me = auth.session.with_untracked(|s| s.as_ref().map(|s| s.user.id)).unwrap_or_default();
        let present = live.present(Self::topic_of(site_id));
        let desk = Self { auth, live, site_id, me, members: RwSignal::new(Vec::new()), present };
        desk.reload_members();
        desk
    }

    /// The site's topic.
    pub fn topic(self) -> String {
        Self::topic_of(self.site_id)
    }

    fn topic_of(site_id: Uuid) -> String {
        format!("site:{site_id}")
    }

    /// The signed-in user's membership, once loaded.
    pub fn mine(self) -> Option<Member> {
        self.members.with(|all| all.iter().find(|m| m.user_id == self.me).cloned())
    }

    /// Whether the signed-in user answers chats here (a viewer only reads).
    pub fn answers(self) -> bool {
        self.mine().is_some_and(|m| m.answers())
    }

    /// The name a colleague gave ("a colleague" without one, "you" for the signed-in user).
    pub fn name_of(self, user: Uuid) -> String {
        self.members.with(|all| {
            all.iter()
                .find(|m| m.user_id == user)
                .and_then(|m| m.display_name.clone())
                .unwrap_or_else(|| if user == self.me { "you".into() } else { "a colleague".into() })
        })
    }

    /// Reads the site's members; the signed-in user's presence follows their status.
    fn reload_members(self) {
        spawn_local(async move {
            let token = self.auth.token().unwrap_or_default();
            let site = format!("eq.{}", self.site_id);
            let query = [("select", MEMBER_COLUMNS), ("site_id", site.as_str()), ("order", "display_name")];
            if let Ok(members) = self.auth.project().select::<Vec<Member>>(&token, "site_members", &query).await {
                self.members.set(members);
                self.track();
            }
        });
    }

    /// Present on the site's topic while online, absent otherwise.
    fn track(self) {
        let Some(mine) = self.mine() else { return };
        let name = mine.display_name.clone().unwrap_or_default();
        let online = (mine.availability == "online" && mine.answers()).then_some(Online { name: &name });
        self.live.track(&self.topic(), online.as_ref());
    }

    /// Sets the signed-in user's status; `Err` says why it could not be.
    pub async fn set_status(self, availability: &str) -> Result<(), String> {
        #[derive(Serialize)]
        struct Availability<'a> {
            availability: &'a str,
        }
        let token = self.auth.token().unwrap_or_default();
        let site = format!("eq.{}", self.site_id);
        let me = format!("eq.{}", self.me);
        let query = [("site_id", site.as_str()), ("user_id", me.as_str()), ("select", MEMBER_COLUMNS)];
        let changed = self
            .auth
            .project()
            .update::<Member>(&token, "site_members", &query, &Availability { availability })
            .await
            .map_err(|e| crate::project::sentence(&e))?;
        let Some(changed) = changed.into_iter().next() else {
            return Err("Your status could not be changed.".into());
        };
        self.members.update(|all| {
            if let Some(mine) = all.iter_mut().find(|m| m.user_id == self.me) {
                *mine = changed;
            }
        });
        self.track();
        Ok(())
    }
}

/// The signed-in user's status picker (hidden for a viewer, who answers nothing).
#[component]
pub fn StatusPicker(desk: Desk) -> impl IntoView {
    let status = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    // The picker shows the stored status once it is known, and whatever it was set to after.
    Effect::new(move |_| {
        if let Some(mine) = desk.mine()
            && status.get_untracked() != mine.availability
        {
            status.set(mine.availability);
        }
    });
    Effect::watch(
        move || status.get(),
        move |wanted, _, _| {
            let wanted = wanted.clone();
            if wanted.is_empty() || desk.mine().is_none_or(|m| m.availability == wanted) {
                return;
            }
            spawn_local(async move {
                let refused = desk.set_status(&wanted).await.err();
                if refused.is_some()
                    && let Some(mine) = desk.mine()
                {
                    status.set(mine.availability);
                }
                problem.set(refused);
            });
        },
        false,
    );
    view! {
        <span class="status" hidden=move || !desk.answers()>
            <label for="status">"Status"</label>
            <Select id="status" value=status>
                <option value="online">"Online"</option>
                <option value="away">"Away"</option>
                <option value="offline">"Offline"</option>
            </Select>
            {move || problem.get().map(|message| view! { <span role="alert" class="problem">{message}</span> })}
        </span>
    }
}
