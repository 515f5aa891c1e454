//! The team section (owners and admins): the members with their role, support level and
//! capacity, each changed at once (the database keeps the last owner and refuses what the
//! user may not do); removing a member; inviting by email; pending invitations withdrawn.

use crate::app::Problem;
use crate::auth::Auth;
use crate::live::latest;
use crate::project::sentence;
use chat_core::inbox::SUPPORT_LEVELS;
use chat_core::team::{INVITATION_COLUMNS, Invitation, ROLES, TeamMember};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use thaw::*;
use uuid::Uuid;

/// The shown site's team; `owner` when the signed-in user owns the site.
#[component]
pub fn TeamSection(auth: Auth, site_id: Uuid, owner: bool) -> impl IntoView {
    let version = RwSignal::new(0_u32);
    let members = LocalResource::new(move || {
        version.track();
        async move {
            let token = auth.token().unwrap_or_default();
            auth.project().rpc::<Vec<TeamMember>>(&token, "team_members", &json!({ "p_site_id": site_id })).await
        }
    });
    let invitations = LocalResource::new(move || {
        version.track();
        async move {
            let token = auth.token().unwrap_or_default();
            let filter = format!("eq.{site_id}");
            auth.project()
                .select::<Vec<Invitation>>(
                    &token,
                    "site_invitations",
                    &[
                        ("select", INVITATION_COLUMNS),
                        ("site_id", &filter),
                        ("accepted_at", "is.null"),
                        ("order", "created_at.desc"),
                    ],
                )
                .await
        }
    });
    let shown = latest(members);
    let reload = move || version.update(|v| *v += 1);
    // Who works here or is invited already: inviting them again is said plainly.
    let taken = Signal::derive(move || {
        let mut emails: Vec<String> =
            shown.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|m| m.email.to_lowercase()).collect();
        emails.extend(invitations.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|i| i.email));
        emails
    });
    let problem = RwSignal::new(None::<String>);
    // A change of one member; the list is read again either way (it shows what is stored).
    let change = move |user: Uuid, body: Value| {
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            let (site, who) = (format!("eq.{site_id}"), format!("eq.{user}"));
            let outcome = auth
                .project()
                .update::<Value>(&token, "site_members", &[("site_id", &site), ("user_id", &who)], &body)
                .await;
            problem.set(match outcome {
                Ok(rows) if rows.is_empty() => Some("You may not change this member.".into()),
                Ok(_) => None,
                Err(error) => Some(sentence(&error)),
            });
            reload();
        });
    };
    let remove = move |user: Uuid| {
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            let (site, who) = (format!("eq.{site_id}"), format!("eq.{user}"));
            let outcome =
                auth.project().delete::<Value>(&token, "site_members", &[("site_id", &site), ("user_id", &who)]).await;
            problem.set(match outcome {
                Ok(rows) if rows.is_empty() => {
                    Some("An owner cannot be removed: make them an admin first (a site keeps one owner).".into())
                }
                Ok(_) => None,
                Err(error) => Some(sentence(&error)),
            });
            reload();
        });
    };
    view! {
        <main class="settings" aria-labelledby="team-heading">
            <h1 id="team-heading">"Team"</h1>
            {move || problem.get().map(|message| view! { <div data-testid="team-problem"><Problem message /></div> })}
            {move || match shown.get() {
                None => Some(view! { <Spinner label="Loading the team…" /> }.into_any()),
                Some(Err(error)) => Some(view! { <Problem message=sentence(&error) /> }.into_any()),
                Some(Ok(_)) => None,
            }}
            <table class="team" data-testid="team">
                <thead><tr><th>"Person"</th><th>"Role"</th><th>"Support level"</th><th>"Chats at once"</th><th>"Status"</th><th></th></tr></thead>
                <tbody>
                    // Keyed by what a row shows: a reload redraws only the rows that changed, so
                    // a removal being confirmed elsewhere in the list survives it.
                    <For
                        each=move || shown.get().and_then(Result::ok).unwrap_or_default()
                        key=|m| (m.user_id, m.role.clone(), m.support_level.clone(), m.max_concurrent_chats, m.availability.clone())
                        let:member
                    >
                        <MemberRow member owner change remove />
                    </For>
                </tbody>
            </table>
            <InviteForm auth site_id taken on_sent=reload />
            <section class="panel-form" aria-labelledby="pending-heading">
                <h2 id="pending-heading">"Pending invitations"</h2>
                {move || match invitations.get() {
                    None => view! { <p>"Loading…"</p> }.into_any(),
                    Some(Err(error)) => view! { <Problem message=sentence(&error) /> }.into_any(),
                    Some(Ok(list)) if list.is_empty() => view! { <p class="help">"None."</p> }.into_any(),
                    Some(Ok(list)) => view! {
                        <ul class="invitations" data-testid="invitations">
                            {list.into_iter().map(|i| {
                                let id = i.id;
                                let withdraw = move |_| spawn_local(async move {
                                    let token = auth.token().unwrap_or_default();
                                    let filter = format!("eq.{id}");
                                    if let Err(error) = auth.project().delete::<Value>(&token, "site_invitations", &[("id", &filter)]).await {
                                        problem.set(Some(sentence(&error)));
                                    }
                                    reload();
                                });
                                view! {
                                    <li>
                                        <span>{i.email.clone()}" · "{role_name(&i.role)}" · until "{i.expires_at.get(..10).unwrap_or_default().to_string()}</span>
                                        <Button size=ButtonSize::Small on_click=withdraw attr:aria-label=format!("Withdraw the invitation of {}", i.email)>"Withdraw"</Button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                }}
            </section>
        </main>
    }
}

fn role_name(role: &str) -> &'static str {
    ROLES.iter().find(|(r, _)| *r == role).map_or("", |(_, name)| name)
}

/// One member: role, level and capacity changed in place; removal asked twice.
#[component]
fn MemberRow(
    member: TeamMember,
    owner: bool,
    change: impl Fn(Uuid, Value) + Copy + Send + Sync + 'static,
    remove: impl Fn(Uuid) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let user = member.user_id;
    let is_owner = member.role == "owner";
    let name = member.display_name.clone().unwrap_or_else(|| member.email.clone());
    let confirming = RwSignal::new(false);
    // Only owners make or unmake owners.
    let roles: Vec<(&str, &str)> = ROLES.into_iter().filter(|(r, _)| owner || *r != "owner").collect();
    let may_change_role = owner || !is_owner;
    let capacity = member.max_concurrent_chats.to_string();
    view! {
        <tr data-testid="member" data-email=member.email.clone()>
            <td><strong>{name}</strong><br /><span class="help">{member.email.clone()}</span></td>
            <td>
                <select aria-label=format!("Role of {}", member.email) disabled=!may_change_role
                    on:change=move |ev| change(user, json!({ "role": event_target_value(&ev) }))>
                    {roles.into_iter().map(|(value, label)| view! { <option value=value selected=value == member.role>{label}</option> }).collect_view()}
                    {(!may_change_role).then(|| view! { <option value="owner" selected=true>"Owner"</option> })}
                </select>
            </td>
            <td>
                <select aria-label=format!("Support level of {}", member.email)
                    on:change=move |ev| change(user, json!({ "support_level": event_target_value(&ev) }))>
                    {SUPPORT_LEVELS.into_iter().map(|level| view! { <option value=level selected=level == member.support_level>{level}</option> }).collect_view()}
                </select>
            </td>
            <td>
                <input type="number" min="1" max="50" class="capacity" aria-label=format!("Chats at once for {}", member.email) value=capacity
                    on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).parse::<i64>() {
                            change(user, json!({ "max_concurrent_chats": n }));
                        }
                    } />
            </td>
            <td>{member.availability.clone()}</td>
            <td>
                {(!is_owner).then(|| view! {
                    <Button size=ButtonSize::Small attr:hidden=move || confirming.get() on_click=move |_| confirming.set(true)
                        attr:aria-label=format!("Remove {}", member.email)>"Remove"</Button>
                    <Button size=ButtonSize::Small appearance=ButtonAppearance::Primary attr:hidden=move || !confirming.get()
                        on_click=move |_| remove(user)>"Confirm removal"</Button>
                })}
            </td>
        </tr>
    }
}

/// Invite a person by email with a role, support level and capacity.
#[component]
fn InviteForm(
    auth: Auth,
    site_id: Uuid,
    taken: Signal<Vec<String>>,
    on_sent: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("operator".to_string());
    let level = RwSignal::new("t1".to_string());
    let capacity = RwSignal::new("5".to_string());
    let problem = RwSignal::new(None::<String>);
    let sent = RwSignal::new(None::<String>);
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let invitation = Invitation {
            id: Uuid::nil(),
            site_id,
            email: email.get_untracked().trim().to_lowercase(),
            display_name: Some(name.get_untracked().trim().to_string()).filter(|n| !n.is_empty()),
            role: role.get_untracked(),
            support_level: level.get_untracked(),
            max_concurrent_chats: capacity.get_untracked().trim().parse().unwrap_or(0),
            expires_at: String::new(),
        };
        if let Some(message) = invitation.problems().into_values().next() {
            problem.set(Some(message));
            return;
        }
        if taken.with_untracked(|t| t.contains(&invitation.email)) {
            problem.set(Some(format!("{} works here or is invited already.", invitation.email)));
            return;
        }
        spawn_local(async move {
            let token = auth.token().unwrap_or_default();
            // invited_by is the column's default, auth.uid() (which the insert policy requires).
            match auth.project().insert::<Value>(&token, "site_invitations", &invitation).await {
                Ok(_) => {
                    problem.set(None);
                    sent.set(Some(format!(
                        "Invited {}. No email is sent: tell them to sign in to this console, or create their account here, with that address.",
                        invitation.email
                    )));
                    email.set(String::new());
                    name.set(String::new());
                    on_sent();
                }
                Err(error) => problem.set(Some(sentence(&error))),
            }
        });
    };
    view! {
        <section class="panel-form" aria-labelledby="invite-heading">
            <h2 id="invite-heading">"Invite someone"</h2>
            <form on:submit=submit data-testid="invite">
                <Field label="Email address"><Input value=email input_type=InputType::Email /></Field>
                <Field label="Name (optional)"><Input value=name /></Field>
                <label for="invite-role">"Role"</label>
                <Select id="invite-role" value=role default_value="operator">
                    {ROLES.into_iter().filter(|(r, _)| *r != "owner").map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view()}
                </Select>
                <label for="invite-level">"Support level"</label>
                <Select id="invite-level" value=level>
                    {SUPPORT_LEVELS.into_iter().map(|l| view! { <option value=l>{l}</option> }).collect_view()}
                </Select>
                <Field label="Chats at once"><Input value=capacity input_type=InputType::Number /></Field>
                {move || problem.get().map(|message| view! { <Problem message /> })}
                {move || sent.get().map(|message| view! { <p class="saved" role="status">{message}</p> })}
                <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary>"Send invitation"</Button>
            </form>
        </section>
    }
}
