//! The console's frame: the project's settings, then the sign-in form or the signed-in shell.

use crate::analytics::AnalyticsSection;
use crate::auth::Auth;
use crate::desk::Desk;
use crate::inbox::Inbox;
use crate::knowledge::KnowledgeSection;
use crate::links::LinksSection;
use crate::live::Live;
use crate::project::Project;
use crate::project::sentence;
use crate::site::{NewSite, SiteSection};
use crate::sites::Sites;
use crate::store;
use crate::team::TeamSection;
use crate::widget::WidgetSection;
use chat_client::call::CallError;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::{Deserialize, Serialize};
use thaw::*;

/// The console. No `<Suspense>` wraps it: every view keeps its last data while it refetches
/// (`live::latest`), and a boundary around everything would swap the whole page for its
/// fallback on each refetch, taking focus from whatever field the person is typing in.
#[component]
pub fn App() -> impl IntoView {
    let project = LocalResource::new(Project::load);
    view! {
        <ConfigProvider>
            {move || loaded(project.get(), |project| view! { <Signed project /> })}
        </ConfigProvider>
    }
}

/// The sign-in form, or the console once signed in.
#[component]
fn Signed(project: Project) -> impl IntoView {
    let auth = Auth::start(project);
    // Only signing in or out redraws the console, not each token refresh.
    let signed_in = Memo::new(move |_| auth.session.with(Option::is_some));
    move || {
        if signed_in.get() { view! { <Shell auth /> }.into_any() } else { view! { <SignIn auth /> }.into_any() }
    }
}

/// Email and password: signing in, or creating an account (an invitation to a site is
/// accepted either way, once signed in).
#[component]
fn SignIn(auth: Auth) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let note = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let creating = RwSignal::new(false);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        pending.set(true);
        problem.set(None);
        note.set(None);
        spawn_local(async move {
            let (email, password) = (email.get_untracked(), password.get_untracked());
            let outcome = if creating.get_untracked() {
                auth.sign_up(email, password).await.map(|confirm| note.set(confirm))
            } else {
                auth.sign_in(email, password).await
            };
            if let Err(message) = outcome {
                problem.set(Some(message));
            }
            pending.set(false);
        });
    };
    view! {
        <main class="sign-in">
            <h1>{move || if creating.get() { "Create your account" } else { "Sign in to the console" }}</h1>
            <form on:submit=submit data-testid="sign-in">
                <Field label="Email">
                    <Input value=email input_type=InputType::Email autofocus=true />
                </Field>
                <Field label="Password">
                    <Input value=password input_type=InputType::Password />
                </Field>
                {move || problem.get().map(|message| view! { <Problem message /> })}
                {move || note.get().map(|message| view! { <p role="status">{message}</p> })}
                <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary disabled=pending>
                    {move || if creating.get() { "Create account" } else { "Sign in" }}
                </Button>
            </form>
            <Button appearance=ButtonAppearance::Subtle on_click=move |_| creating.update(|c| *c = !*c)>
                {move || if creating.get() { "I have an account: sign in" } else { "New here? Create an account" }}
            </Button>
        </main>
    }
}

/// The console's sections; the settings sections are for the site's owners and admins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Section {
    Inbox,
    Site,
    Widget,
    Team,
    Links,
    Knowledge,
    Analytics,
}

impl Section {
    const ALL: [(Section, &'static str); 7] = [
        (Section::Inbox, "Inbox"),
        (Section::Site, "Site"),
        (Section::Widget, "Widget"),
        (Section::Team, "Team"),
        (Section::Links, "Links"),
        (Section::Knowledge, "Knowledge"),
        (Section::Analytics, "Analytics"),
    ];
}

/// Where the section shown last is kept.
const SECTION_KEY: &str = "console:section";

/// The signed-in console: the site and section pickers, who is signed in, and the section.
#[component]
fn Shell(auth: Auth) -> impl IntoView {
    let email = move || auth.session.with(|s| s.as_ref().and_then(|s| s.user.email.clone()).unwrap_or_default());
    let sites = Sites::load(auth);
    let live = Live::start(auth);
    let chosen = RwSignal::new(store::load(SECTION_KEY).unwrap_or(Section::Inbox));
    // The site shown and whether its settings are the user's to change: the only things that
    // rebuild the section (a rename does not).
    let shown = Memo::new(move |_| sites.shown().map(|s| (s.row.id, s.manages(), s.role == "owner")));
    let section = Memo::new(move |_| match shown.get() {
        Some((_, true, _)) => chosen.get(),
        _ => Section::Inbox,
    });
    let choose = move |picked: Section| {
        store::save(SECTION_KEY, Some(&picked));
        chosen.set(picked);
    };
    view! {
        <div class="shell">
            <header class="top">
                <strong>"Console"</strong>
                <SitePicker sites />
                <nav class="sections" aria-label="Sections">
                    {move || {
                        let manages = shown.get().is_some_and(|(_, manages, _)| manages);
                        Section::ALL
                            .into_iter()
                            .filter(|(s, _)| manages || *s == Section::Inbox)
                            .map(|(s, label)| view! {
                                <button class="section" aria-current=move || (section.get() == s).then_some("page")
                                    on:click=move |_| choose(s)>{label}</button>
                            })
                            .collect_view()
                    }}
                </nav>
                <span class="who" data-testid="signed-in-as">{email}</span>
                <Button appearance=ButtonAppearance::Subtle on_click=move |_| auth.sign_out()>"Sign out"</Button>
            </header>
            {move || match (shown.get(), section.get()) {
                (Some((site_id, ..)), Section::Inbox) => {
                    let name = sites.shown().map(|s| s.row.name).unwrap_or_default();
                    view! { <Inbox desk=Desk::open(auth, live, site_id) site_name=name /> }.into_any()
                }
                (Some((site_id, ..)), Section::Site) => view! { <SiteSection sites site_id /> }.into_any(),
                (Some((site_id, ..)), Section::Widget) => view! { <WidgetSection auth sites site_id /> }.into_any(),
                (Some((site_id, _, owner)), Section::Team) => view! { <TeamSection auth site_id owner /> }.into_any(),
                (Some((site_id, ..)), Section::Links) => view! { <LinksSection auth site_id /> }.into_any(),
                (Some((site_id, ..)), Section::Knowledge) => view! { <KnowledgeSection auth site_id /> }.into_any(),
                (Some((site_id, ..)), Section::Analytics) => view! { <AnalyticsSection auth site_id /> }.into_any(),
                (None, _) => view! { <NoSite sites /> }.into_any(),
            }}
        </div>
    }
}

/// While the sites load, why they did not, or the first site to create.
#[component]
fn NoSite(sites: Sites) -> impl IntoView {
    move || {
        match sites.list.get() {
        None => view! { <Spinner label="Loading…" /> }.into_any(),
        Some(Err(message)) => view! { <Problem message /> }.into_any(),
        Some(Ok(_)) => view! {
            <main class="settings">
                <p class="empty">"You do not work on any site yet. Ask its owner for an invitation, or create your own."</p>
                <NewSite sites />
            </main>
        }
        .into_any(),
    }
    }
}

/// Which of the user's sites the console shows.
#[component]
fn SitePicker(sites: Sites) -> impl IntoView {
    // thaw's Select takes the first option's value at mount unless given a default_value.
    let value = RwSignal::new(sites.current.get_untracked().map(|id| id.to_string()).unwrap_or_default());
    Effect::new(move |_| value.set(sites.current.get().map(|id| id.to_string()).unwrap_or_default()));
    Effect::watch(
        move || value.get(),
        move |picked, _, _| {
            if let Ok(id) = picked.parse()
                && sites.current.get_untracked() != Some(id)
            {
                sites.pick(id);
            }
        },
        false,
    );
    view! {
        <label class="sr-only" for="site-picker">"Site"</label>
        <Select id="site-picker" value default_value=value.get_untracked()>
            // An option added after the select was set would not be chosen: each says if it is.
            {move || {
                let current = sites.current.get_untracked();
                sites.all().into_iter().map(|s| view! {
                    <option value=s.row.id.to_string() selected=current == Some(s.row.id)>{s.row.name}</option>
                }).collect_view()
            }}
        </Select>
    }
}

/// What a section shows of data it loads: a spinner until it comes, why it did not, or
/// `ready`'s view of it.
pub fn loaded<T, V: IntoView + 'static>(state: Option<Result<T, CallError>>, ready: impl FnOnce(T) -> V) -> AnyView {
    match state {
        None => view! { <Spinner label="Loading…" /> }.into_any(),
        Some(Err(error)) => view! { <Problem message=sentence(&error) /> }.into_any(),
        Some(Ok(value)) => ready(value).into_any(),
    }
}

/// An error, said plainly.
#[component]
pub fn Problem(message: String) -> impl IntoView {
    view! {
        <MessageBar intent=MessageBarIntent::Error>
            <MessageBarBody>{message}</MessageBarBody>
        </MessageBar>
    }
}
