//! The console's frame: the project's settings, then the sign-in form or the signed-in shell.

use crate::auth::Auth;
use crate::inbox::Inbox;
use crate::project::Project;
use crate::project::sentence;
use leptos::prelude::*;
use leptos::task::spawn_local;
use thaw::*;

/// The console. No `<Suspense>` wraps it: every view keeps its last data while it refetches
/// (`live::latest`), and a boundary around everything would swap the whole page for its
/// fallback on each refetch, taking focus from whatever field the person is typing in.
#[component]
pub fn App() -> impl IntoView {
    let project = LocalResource::new(Project::load);
    view! {
        <ConfigProvider>
            {move || match project.get() {
                None => view! { <Spinner label="Loading…" /> }.into_any(),
                Some(Ok(project)) => view! { <Signed project /> }.into_any(),
                Some(Err(error)) => view! { <Problem message=sentence(&error) /> }.into_any(),
            }}
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

/// Email and password.
#[component]
fn SignIn(auth: Auth) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        pending.set(true);
        problem.set(None);
        spawn_local(async move {
            if let Err(message) = auth.sign_in(email.get_untracked(), password.get_untracked()).await {
                problem.set(Some(message));
            }
            pending.set(false);
        });
    };
    view! {
        <main class="sign-in">
            <h1>"Sign in to the console"</h1>
            <form on:submit=submit data-testid="sign-in">
                <Field label="Email">
                    <Input value=email input_type=InputType::Email autofocus=true />
                </Field>
                <Field label="Password">
                    <Input value=password input_type=InputType::Password />
                </Field>
                {move || problem.get().map(|message| view! { <Problem message /> })}
                <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary disabled=pending>
                    "Sign in"
                </Button>
            </form>
        </main>
    }
}

/// The signed-in console: who is signed in, and the inbox.
#[component]
fn Shell(auth: Auth) -> impl IntoView {
    let email = move || auth.session.with(|s| s.as_ref().and_then(|s| s.user.email.clone()).unwrap_or_default());
    view! {
        <div class="shell">
            <header class="top">
                <strong>"Inbox"</strong>
                <span class="who" data-testid="signed-in-as">{email}</span>
                <Button appearance=ButtonAppearance::Subtle on_click=move |_| auth.sign_out()>"Sign out"</Button>
            </header>
            <Inbox auth />
        </div>
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
