//! The widget section (owners and admins): every setting the widget honours, checked as the
//! database checks them, beside a live preview of the real widget with the unsaved settings;
//! saved only over the version it was filled from.

use crate::app::Problem;
use crate::auth::Auth;
use crate::preview::Preview;
use crate::project::sentence;
use crate::sites::Sites;
use crate::versioned::{SaveOutcome, Saving};
use chat_core::settings::{BusinessHours, SETTINGS_COLUMNS, WEEKDAYS, WidgetSettings};
use chat_core::widget::{AgentPersona, CustomField};
use chat_core::{ColorScheme, Position};
use leptos::prelude::*;
use thaw::*;
use uuid::Uuid;

/// The shown site's widget settings and their preview.
#[component]
pub fn WidgetSection(auth: Auth, sites: Sites, site_id: Uuid) -> impl IntoView {
    let loaded = LocalResource::new(move || load(auth, site_id));
    move || match loaded.get() {
        None => view! { <Spinner label="Loading the settings…" /> }.into_any(),
        Some(Err(message)) => view! { <Problem message /> }.into_any(),
        Some(Ok((settings, agent))) => view! { <SettingsForm auth sites settings agent /> }.into_any(),
    }
}

/// The settings row and the persona that greets visitors (the oldest active agent).
async fn load(auth: Auth, site_id: Uuid) -> Result<(WidgetSettings, Option<AgentPersona>), String> {
    let token = auth.token().unwrap_or_default();
    let filter = format!("eq.{site_id}");
    let rows: Vec<WidgetSettings> = auth
        .project()
        .select(&token, "widget_settings", &[("select", SETTINGS_COLUMNS), ("site_id", &filter)])
        .await
        .map_err(|e| sentence(&e))?;
    let agents: Vec<AgentPersona> = auth
        .project()
        .select(
            &token,
            "agents",
            &[
                ("select", "name,avatar_url"),
                ("site_id", &filter),
                ("is_active", "is.true"),
                ("order", "created_at,id"),
                ("limit", "1"),
            ],
        )
        .await
        .map_err(|e| sentence(&e))?;
    let settings = rows.into_iter().next().ok_or("This site has no widget settings you may read.")?;
    Ok((settings, agents.into_iter().next()))
}

/// One field per setting, each a signal; [`Form::settings`] puts them together.
#[derive(Clone, Copy)]
struct Form {
    /// The row as read or last saved (its version and the settings not edited here).
    loaded: RwSignal<WidgetSettings>,
    title: RwSignal<String>,
    welcome: RwSignal<String>,
    offline: RwSignal<String>,
    primary: RwSignal<String>,
    text: RwSignal<String>,
    background: RwSignal<String>,
    scheme: RwSignal<String>,
    position: RwSignal<String>,
    photos: RwSignal<bool>,
    typing: RwSignal<bool>,
    require_name: RwSignal<bool>,
    require_email: RwSignal<bool>,
    require_phone: RwSignal<bool>,
    /// The site's own pre-chat fields, each with an id for the list's keys.
    fields: RwSignal<Vec<(u32, CustomField)>>,
    timezone: RwSignal<String>,
    /// Business hours apply (else always open).
    hours_on: RwSignal<bool>,
    hours: RwSignal<BusinessHours>,
    auto_assignment: RwSignal<bool>,
    grace: RwSignal<String>,
}

impl Form {
    fn new(settings: &WidgetSettings) -> Self {
        let form = Self {
            loaded: RwSignal::new(settings.clone()),
            title: RwSignal::new(String::new()),
            welcome: RwSignal::new(String::new()),
            offline: RwSignal::new(String::new()),
            primary: RwSignal::new(String::new()),
            text: RwSignal::new(String::new()),
            background: RwSignal::new(String::new()),
            scheme: RwSignal::new(String::new()),
            position: RwSignal::new(String::new()),
            photos: RwSignal::new(false),
            typing: RwSignal::new(false),
            require_name: RwSignal::new(false),
            require_email: RwSignal::new(false),
            require_phone: RwSignal::new(false),
            fields: RwSignal::new(Vec::new()),
            timezone: RwSignal::new(String::new()),
            hours_on: RwSignal::new(false),
            hours: RwSignal::new(BusinessHours::default()),
            auto_assignment: RwSignal::new(false),
            grace: RwSignal::new(String::new()),
        };
        form.fill(settings);
        form
    }

    /// Show `settings` (as read, saved, or saved by someone else).
    fn fill(self, s: &WidgetSettings) {
        self.loaded.set(s.clone());
        self.title.set(s.title.clone());
        self.welcome.set(s.welcome_message.clone());
        self.offline.set(s.offline_message.clone());
        self.primary.set(s.primary_color.clone());
        self.text.set(s.text_color.clone());
        self.background.set(s.background_color.clone());
        self.scheme.set(scheme_name(s.color_scheme).into());
        self.position.set(position_name(s.position).into());
        self.photos.set(s.show_agent_photos);
        self.typing.set(s.show_typing_indicator);
        self.require_name.set(s.require_name);
        self.require_email.set(s.require_email);
        self.require_phone.set(s.require_phone);
        // Fresh ids: a row the list already draws under an id would keep its old text.
        let next = self.fields.with_untracked(|list| list.iter().map(|(id, _)| id + 1).max().unwrap_or(0));
        self.fields.set((next..).zip(s.custom_fields.iter().cloned()).collect());
        self.timezone.set(s.timezone.clone());
        self.hours_on.set(s.business_hours.is_some());
        self.hours.set(s.business_hours.clone().unwrap_or_else(BusinessHours::office));
        self.auto_assignment.set(s.auto_assignment);
        self.grace.set(s.offline_grace_minutes.to_string());
    }

    /// The settings as the form has them now (tracked).
    fn settings(self) -> WidgetSettings {
        WidgetSettings {
            title: self.title.get(),
            welcome_message: self.welcome.get(),
            offline_message: self.offline.get(),
            primary_color: self.primary.get().trim().to_ascii_lowercase(),
            text_color: self.text.get().trim().to_ascii_lowercase(),
            background_color: self.background.get().trim().to_ascii_lowercase(),
            color_scheme: match self.scheme.get().as_str() {
                "dark" => ColorScheme::Dark,
                "auto" => ColorScheme::Auto,
                _ => ColorScheme::Light,
            },
            position: if self.position.get() == "bottom-left" { Position::BottomLeft } else { Position::BottomRight },
            show_agent_photos: self.photos.get(),
            show_typing_indicator: self.typing.get(),
            require_name: self.require_name.get(),
            require_email: self.require_email.get(),
            require_phone: self.require_phone.get(),
            custom_fields: self.fields.with(|f| f.iter().map(|(_, field)| field.clone()).collect()),
            timezone: self.timezone.get().trim().to_string(),
            business_hours: self.hours_on.get().then(|| self.hours.get()),
            auto_assignment: self.auto_assignment.get(),
            offline_grace_minutes: self.grace.get().trim().parse().unwrap_or(-1),
            ..self.loaded.get()
        }
    }
}

fn scheme_name(scheme: ColorScheme) -> &'static str {
    match scheme {
        ColorScheme::Light => "light",
        ColorScheme::Dark => "dark",
        ColorScheme::Auto => "auto",
    }
}

fn position_name(position: Position) -> &'static str {
    match position {
        Position::BottomRight => "bottom-right",
        Position::BottomLeft => "bottom-left",
    }
}

/// The form, its problems and warnings, the save, and the preview beside it.
#[component]
fn SettingsForm(auth: Auth, sites: Sites, settings: WidgetSettings, agent: Option<AgentPersona>) -> impl IntoView {
    let form = Form::new(&settings);
    let draft = Memo::new(move |_| form.settings());
    let problems = Memo::new(move |_| draft.with(WidgetSettings::problems));
    let warnings = Memo::new(move |_| draft.with(WidgetSettings::contrast_warnings));
    let unsaved = Memo::new(move |_| draft.with(|d| form.loaded.with(|l| d != l)));
    let saving = Saving::<WidgetSettings>::default();
    // The preview's own choices: colours as set or forced, the frame, online or away.
    let appearance = RwSignal::new("as-set".to_string());
    let frame = RwSignal::new("desktop".to_string());
    let status = RwSignal::new("online".to_string());
    let site = move || sites.shown().map(|s| (s.row.site_key, s.row.name)).unwrap_or_default();
    let config = Signal::derive(move || {
        let (key, name) = site();
        let mut config = draft.with(|d| d.preview(&key, &name, agent.clone(), status.get() == "online"));
        match appearance.get().as_str() {
            "light" => config.theme.color_scheme = ColorScheme::Light,
            "dark" => config.theme.color_scheme = ColorScheme::Dark,
            _ => {}
        }
        config
    });
    let phone = Signal::derive(move || frame.get() == "phone");
    let submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        if !problems.with_untracked(|p| p.is_empty()) {
            return saving.refuse();
        }
        let settings = draft.get_untracked();
        let args = serde_json::json!({ "p_site_id": settings.site_id, "p_version": settings.updated_at, "p_settings": settings });
        let target = ("widget_settings", "site_id", settings.site_id.to_string(), SETTINGS_COLUMNS);
        let done = "Saved. Pages load the new settings within a minute (they keep them for 60 seconds).";
        saving.run(auth, "save_widget_settings", args, target, done, move |row: WidgetSettings| form.fill(&row));
    };
    Effect::new(move |_| saving.forget_refusal(problems.with(|p| p.is_empty())));
    let problem = move |field: &'static str| move || problems.with(|p| p.get(field).cloned());
    view! {
        <main class="settings widget-settings" aria-labelledby="widget-heading">
            <form class="panel-form" on:submit=submit data-testid="widget-form">
                <h1 id="widget-heading">"Widget"</h1>
                <h2>"Texts"</h2>
                <Field label="Title"><Input value=form.title /></Field>
                <p class="field-error" role="alert">{problem("title")}</p>
                <Field label="Welcome message (someone can answer)"><Textarea value=form.welcome /></Field>
                <p class="field-error" role="alert">{problem("welcome_message")}</p>
                <Field label="Offline message (outside business hours or nobody online)"><Textarea value=form.offline /></Field>
                <p class="field-error" role="alert">{problem("offline_message")}</p>

                <h2>"Look"</h2>
                <ColorField id="primary-color" label="Primary colour (launcher, header, buttons)" value=form.primary problem=Signal::derive(problem("primary_color")) />
                <ColorField id="text-color" label="Text colour" value=form.text problem=Signal::derive(problem("text_color")) />
                <ColorField id="background-color" label="Background colour" value=form.background problem=Signal::derive(problem("background_color")) />
                <div class="warnings" role="status" data-testid="contrast-warning">
                    {move || warnings.get().into_iter().map(|w| view! { <p class="warning">{w}</p> }).collect_view()}
                </div>
                <label for="color-scheme">"Colour scheme"</label>
                <Select id="color-scheme" value=form.scheme default_value=form.scheme.get_untracked()>
                    <option value="light">"Light"</option>
                    <option value="dark">"Dark"</option>
                    <option value="auto">"The visitor's system setting"</option>
                </Select>
                <label for="position">"Launcher position"</label>
                <Select id="position" value=form.position default_value=form.position.get_untracked()>
                    <option value="bottom-right">"Bottom right"</option>
                    <option value="bottom-left">"Bottom left"</option>
                </Select>
                <Checkbox checked=form.photos label="Show the agent's photo" />
                <Checkbox checked=form.typing label="Show when an operator is typing" />

                <h2>"Before the chat"</h2>
                <Checkbox checked=form.require_name label="Ask for a name" />
                <Checkbox checked=form.require_email label="Ask for an email address" />
                <Checkbox checked=form.require_phone label="Ask for a phone number" />
                <CustomFields fields=form.fields problems />

                <h2>"Business hours"</h2>
                <BusinessHoursEditor form problems />

                <h2>"Assignment"</h2>
                <Checkbox checked=form.auto_assignment label="Hand new conversations to the next free operator" />
                <Field label="Minutes an operator who goes offline keeps their conversations">
                    <Input value=form.grace input_type=InputType::Number />
                </Field>
                <p class="field-error" role="alert">{problem("offline_grace_minutes")}</p>

                <div class="save-bar">
                    <SaveOutcome saving fill=Callback::new(move |row: WidgetSettings| form.fill(&row)) testid="widget" />
                    <span class="unsaved" hidden=move || !unsaved.get()>"Unsaved changes"</span>
                    <Button button_type=ButtonType::Submit appearance=ButtonAppearance::Primary disabled=saving.pending>"Save"</Button>
                </div>
            </form>
            <aside class="preview-pane" aria-label="Preview">
                <div class="preview-controls">
                    <label for="preview-appearance">"Show"</label>
                    <Select id="preview-appearance" value=appearance>
                        <option value="as-set">"As set"</option>
                        <option value="light">"Light"</option>
                        <option value="dark">"Dark"</option>
                    </Select>
                    <label for="preview-frame">"Frame"</label>
                    <Select id="preview-frame" value=frame>
                        <option value="desktop">"Desktop"</option>
                        <option value="phone">"Phone"</option>
                    </Select>
                    <label for="preview-status">"Team"</label>
                    <Select id="preview-status" value=status>
                        <option value="online">"Online"</option>
                        <option value="away">"Away"</option>
                    </Select>
                </div>
                <Preview config phone />
                <p class="help">"The preview starts no chats. Saved settings reach visitors' pages within a minute."</p>
            </aside>
        </main>
    }
}

/// A colour picker and its `#rrggbb` text, the same value.
#[component]
fn ColorField(
    id: &'static str,
    label: &'static str,
    value: RwSignal<String>,
    problem: Signal<Option<String>>,
) -> impl IntoView {
    let swatch = format!("{id}-swatch");
    view! {
        <div class="color-field">
            <label for=id>{label}</label>
            <input type="color" id=swatch.clone() aria-label=format!("{label}: pick") prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
            <input type="text" id=id class="hex" spellcheck="false" maxlength="7" prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev)) />
            <p class="field-error" role="alert">{move || problem.get()}</p>
        </div>
    }
}

/// The site's own pre-chat fields: key, label, required; added and removed.
#[component]
fn CustomFields(
    fields: RwSignal<Vec<(u32, CustomField)>>,
    problems: Memo<std::collections::BTreeMap<String, String>>,
) -> impl IntoView {
    let add = move |_| {
        fields.update(|list| {
            let id = list.iter().map(|(id, _)| id + 1).max().unwrap_or(0);
            list.push((id, CustomField { key: String::new(), label: String::new(), required: false }));
        })
    };
    let edit = move |id: u32, change: Box<dyn FnOnce(&mut CustomField)>| {
        fields.update(|list| {
            if let Some((_, field)) = list.iter_mut().find(|(i, _)| *i == id) {
                change(field);
            }
        })
    };
    let index_of = move |id: u32| fields.with(|list| list.iter().position(|(i, _)| *i == id).unwrap_or(0));
    view! {
        <fieldset class="custom-fields">
            <legend>"Your own questions"</legend>
            <For each=move || fields.get() key=|(id, _)| *id let:item>
                {
                    let id = item.0;
                    let said = move |part: &'static str| move || problems.with(|p| p.get(&format!("custom_fields.{}.{part}", index_of(id))).cloned());
                    view! {
                        <div class="custom-field">
                            <input aria-label="Question" placeholder="Question, e.g. Order number" prop:value=item.1.label.clone()
                                on:input=move |ev| { let v = event_target_value(&ev); edit(id, Box::new(move |f| f.label = v)) } />
                            <input aria-label="Key" placeholder="key, e.g. order_id" class="key" prop:value=item.1.key.clone()
                                on:input=move |ev| { let v = event_target_value(&ev); edit(id, Box::new(move |f| f.key = v)) } />
                            <label><input type="checkbox" prop:checked=item.1.required
                                on:change=move |ev| { let v = event_target_checked(&ev); edit(id, Box::new(move |f| f.required = v)) } />" Required"</label>
                            <Button size=ButtonSize::Small on_click=move |_| fields.update(|l| l.retain(|(i, _)| *i != id))>"Remove"</Button>
                            <p class="field-error" role="alert">{said("label")}" "{said("key")}</p>
                        </div>
                    }
                }
            </For>
            <p class="field-error" role="alert">{move || problems.with(|p| p.get("custom_fields").cloned())}</p>
            <Button size=ButtonSize::Small on_click=add>"Add a question"</Button>
        </fieldset>
    }
}

/// Always open, or opening hours per weekday in a time zone, and dates closed all day.
#[component]
fn BusinessHoursEditor(form: Form, problems: Memo<std::collections::BTreeMap<String, String>>) -> impl IntoView {
    let hours = form.hours;
    let zones = time_zones();
    let day_rows = WEEKDAYS
        .into_iter()
        .map(|(day, name)| {
            let spans = move || hours.with(|h| h.day(day).to_vec());
            let set = move |i: usize, end: usize, value: String| {
                hours.update(|h| {
                    if let Some(span) = h.day_mut(day).get_mut(i) {
                        span[end] = value;
                    }
                })
            };
            view! {
                <div class="day">
                    <span class="day-name">{name}</span>
                    {move || {
                        let spans = spans();
                        if spans.is_empty() {
                            return view! { <span class="closed">"Closed"</span> }.into_any();
                        }
                        spans
                            .into_iter()
                            .enumerate()
                            .map(|(i, [from, to])| view! {
                                <span class="span">
                                    <input type="time" aria-label=format!("{name} opens") prop:value=from
                                        on:change=move |ev| set(i, 0, event_target_value(&ev)) />
                                    "–"
                                    <input type="time" aria-label=format!("{name} closes") prop:value=to
                                        on:change=move |ev| set(i, 1, event_target_value(&ev)) />
                                    <Button size=ButtonSize::Small attr:aria-label=format!("Remove these {name} hours")
                                        on_click=move |_| hours.update(|h| { h.day_mut(day).remove(i); })>"×"</Button>
                                </span>
                            })
                            .collect_view()
                            .into_any()
                    }}
                    <Button size=ButtonSize::Small on_click=move |_| hours.update(|h| h.day_mut(day).push(["09:00".into(), "17:00".into()]))>
                        {format!("Add {name} hours")}
                    </Button>
                    <span class="field-error" role="alert">{move || problems.with(|p| {
                        p.iter().filter(|(k, _)| k.starts_with(&format!("business_hours.{day}"))).map(|(_, m)| m.clone()).next()
                    })}</span>
                </div>
            }
        })
        .collect_view();
    let new_date = RwSignal::new(String::new());
    view! {
        <Checkbox checked=form.hours_on label="Open only during business hours" />
        <div class="hours" hidden=move || !form.hours_on.get()>
            <label for="timezone">"Time zone"</label>
            <input id="timezone" list="time-zones" class="timezone" prop:value=move || form.timezone.get()
                on:input=move |ev| form.timezone.set(event_target_value(&ev)) />
            <datalist id="time-zones">{zones.into_iter().map(|z| view! { <option value=z></option> }).collect_view()}</datalist>
            <p class="field-error" role="alert">{move || problems.with(|p| p.get("timezone").cloned())}</p>
            {day_rows}
            <fieldset class="closures">
                <legend>"Closed all day (holidays)"</legend>
                {move || hours.with(|h| h.closed.clone()).into_iter().enumerate().map(|(i, date)| view! {
                    <span class="closure">{date.clone()}
                        <Button size=ButtonSize::Small attr:aria-label=format!("Open again on {date}")
                            on_click=move |_| hours.update(|h| { h.closed.remove(i); })>"×"</Button>
                    </span>
                }).collect_view()}
                <input type="date" aria-label="Closed date" prop:value=move || new_date.get() on:input=move |ev| new_date.set(event_target_value(&ev)) />
                <Button size=ButtonSize::Small on_click=move |_| {
                    let date = new_date.get_untracked();
                    if !date.is_empty() {
                        hours.update(|h| if !h.closed.contains(&date) { h.closed.push(date); h.closed.sort(); });
                        new_date.set(String::new());
                    }
                }>"Add the date"</Button>
                <p class="field-error" role="alert">{move || problems.with(|p| {
                    p.iter().filter(|(k, _)| k.starts_with("business_hours.closed")).map(|(_, m)| m.clone()).next()
                })}</p>
            </fieldset>
        </div>
    }
}

/// The IANA time zones the browser knows (`Intl.supportedValuesOf`), UTC first.
fn time_zones() -> Vec<String> {
    use wasm_bindgen::JsCast;
    let global = js_sys::global();
    let listed = js_sys::Reflect::get(&global, &"Intl".into())
        .and_then(|intl| {
            let list = js_sys::Reflect::get(&intl, &"supportedValuesOf".into())?.dyn_into::<js_sys::Function>()?;
            list.call1(&intl, &"timeZone".into())
        })
        .ok()
        .and_then(|zones| zones.dyn_into::<js_sys::Array>().ok());
    let mut zones = vec!["UTC".to_string()];
    if let Some(listed) = listed {
        zones.extend(listed.iter().filter_map(|z| z.as_string()).filter(|z| z != "UTC"));
    }
    zones
}
