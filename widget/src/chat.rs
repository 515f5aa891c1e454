//! The chat's state and what changes it: starting and resuming the session, the outbox that
//! retries every unconfirmed message with its own id until the edge confirms, live updates
//! (polling only while the live connection is down), refreshing the guest token, and ending
//! the chat.
//!
//! One ticker drives the background work (one step at a time), so retries, polls and refreshes
//! never overlap and the order of the outbox is kept.

use crate::api::Edge;
use crate::live::{Live, LiveEvent};
use crate::store;
use chat_client::call::{CallError, UNREADABLE};
use chat_client::history::{Lines, Merged, Offer};
use chat_client::outbox::{AfterFailure, Outbox, Outgoing};
use chat_client::storage::Saved;
use chat_client::timing::{TYPING_SHOWN_MS, TypingShown, refresh_due};
use chat_core::api::{EndSession, HANDOFF_REQUEST, Message, PostMessage, SenderType, Session, StartSession};
use chat_core::{ApiError, ErrorCode, WidgetConfig};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::BTreeMap;
use std::time::Duration;
use uuid::Uuid;

/// Where the visitor is in the chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// No session yet.
    Idle,
    /// The site's pre-chat form must be filled in first.
    PreChat,
    /// Creating the session.
    Starting,
    /// Chatting.
    Chatting,
    /// Asking for a rating: before ending, or after an operator closed the conversation.
    Rating,
    /// The chat is over (by the visitor, the site, a limit or inactivity).
    Ended,
}

/// What the panel's body shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelView {
    /// The pre-chat form (also while the chat starts from it).
    Form,
    /// The rating asked before ending.
    Rating,
    /// The messages and the composer.
    Conversation,
}

/// What the chat was started with.
struct Setup {
    /// The site's public settings.
    config: WidgetConfig,
    /// The edge API.
    edge: Edge,
    /// Where this chat is saved in the page's storage.
    storage_key: String,
}

/// The session and the bookkeeping of the background work (not shown, so not reactive).
#[derive(Default)]
struct Work {
    /// The current session, if any.
    session: Option<Session>,
    /// Until when the operator's "typing" is shown.
    typing: TypingShown,
    /// A live (re)join happened and the history has not been fetched since.
    backfill_due: bool,
    /// A step of background work is running.
    busy: bool,
    /// Steps started so far.
    ticks: u64,
    /// The rating asked for now keeps the session going (the conversation was closed).
    rating_keeps_session: bool,
    /// An answer could not be read: the background work waits for the visitor to act.
    stuck: bool,
}

/// The chat's state; cheap to copy into closures (every field is a handle).
#[derive(Clone, Copy)]
pub struct Chat {
    setup: StoredValue<Setup>,
    /// A link's full-page chat (no launcher, no closing, no starting over).
    pub full_page: bool,
    /// Whether the panel is open.
    pub open: RwSignal<bool>,
    /// Where the visitor is.
    pub stage: RwSignal<Stage>,
    /// What the panel shows; set only when it changes, so the form is not built again while
    /// the chat starts from it.
    pub panel: RwSignal<PanelView>,
    /// Confirmed and unconfirmed messages.
    pub lines: RwSignal<Lines>,
    /// New messages while the panel was closed.
    pub unread: RwSignal<u32>,
    /// Per-field problems of the pre-chat form.
    pub form_errors: RwSignal<BTreeMap<String, String>>,
    /// A sentence about the chat's state ("This chat has ended.").
    pub notice: RwSignal<Option<String>>,
    /// The latest incoming message, for screen readers (an aria-live region reads it).
    pub announcement: RwSignal<String>,
    /// The session was rated (a rating is given once).
    pub rated: RwSignal<bool>,
    /// "Maya is typing…" while an operator types.
    pub typing: RwSignal<Option<String>>,
    /// Whether the team is online: operator presence while the live connection knows it,
    /// else the settings' answer (business hours).
    pub online: RwSignal<bool>,
    live: Live,
    work: StoredValue<Work>,
}

const TICK: Duration = Duration::from_millis(1000);
/// Poll for new messages every this many ticks.
const POLL_EVERY: u64 = 2;

impl Chat {
    /// The chat saved under `storage_key` (resumed), with its ticker running.
    /// `handed_over` is a session the page opened for it, used when storage has none (a browser
    /// that refuses storage).
    pub fn start(
        config: WidgetConfig,
        api_base: &str,
        storage_key: String,
        full_page: bool,
        handed_over: Option<Session>,
    ) -> Self {
        let mut saved = store::load(&storage_key);
        if saved.session.is_none() {
            saved.session = handed_over;
        }
        let online = config.is_online;
        let chat = Self {
            setup: StoredValue::new(Setup { config, edge: Edge::new(api_base), storage_key }),
            full_page,
            open: RwSignal::new(false),
            stage: RwSignal::new(Stage::Idle),
            panel: RwSignal::new(PanelView::Form),
            lines: RwSignal::new(Lines::new(Outbox::restore(saved.outbox))),
            unread: RwSignal::new(0),
            form_errors: RwSignal::new(BTreeMap::new()),
            notice: RwSignal::new(None),
            announcement: RwSignal::new(String::new()),
            rated: RwSignal::new(saved.rated),
            typing: RwSignal::new(None),
            online: RwSignal::new(online),
            live: Live::new(),
            work: StoredValue::new(Work { session: saved.session, ..Work::default() }),
        };
        if chat.session().is_some() {
            chat.set_stage(Stage::Chatting);
        }
        // Ask for a fresh token first: it also tells whether the session may continue.
        chat.expire_token();
        set_interval(move || chat.tick(), TICK);
        chat.tick();
        chat
    }

    /// Reads the site's public settings.
    pub fn config<R>(self, read: impl FnOnce(&WidgetConfig) -> R) -> R {
        self.setup.with_value(|setup| read(&setup.config))
    }

    fn edge(self) -> Edge {
        self.setup.with_value(|setup| setup.edge.clone())
    }

    /// Whether the site asks for a pre-chat form.
    pub fn needs_pre_chat(&self) -> bool {
        self.config(|c| {
            c.require_name || c.require_email || c.require_phone || c.custom_fields.iter().any(|f| f.required)
        })
    }

    /// Open the panel; start the chat if there is none and no form to fill in.
    pub fn open_panel(self) {
        // Opening an open panel must not build it again.
        if !self.open.get_untracked() {
            self.open.set(true);
        }
        self.unread.set(0);
        if self.stage.get_untracked() == Stage::Idle {
            if self.needs_pre_chat() {
                self.set_stage(Stage::PreChat);
            } else {
                self.begin(StartSession::default());
            }
        }
    }

    /// Start a session with the pre-chat answers (checked here first, then by the edge).
    pub fn begin(self, mut form: StartSession) {
        form.site_key = self.config(|c| c.site_key.clone());
        if let Err(error) = self.config(|c| form.validate(c)) {
            self.form_errors.set(error.fields);
            self.set_stage(Stage::PreChat);
            return;
        }
        self.form_errors.set(BTreeMap::new());
        self.notice.set(None);
        self.set_stage(Stage::Starting);
        spawn_local(async move {
            match self.edge().start(&form).await {
                Ok(session) => {
                    self.set_session(Some(session));
                    self.set_stage(Stage::Chatting);
                    self.save();
                    self.tick();
                }
                Err(CallError::Api(error)) if error.code == ErrorCode::ValidationFailed => {
                    self.form_errors.set(error.fields);
                    self.set_stage(Stage::PreChat);
                }
                Err(error) => {
                    self.notice.set(Some(friendly(&error)));
                    self.set_stage(if self.needs_pre_chat() { Stage::PreChat } else { Stage::Idle });
                }
            }
        });
    }

    /// Operator presence as the live connection knows it, or unknown (`None`).
    fn set_operators_online(self, present: Option<bool>) {
        self.online.set(present.unwrap_or_else(|| self.config(|c| c.is_online)));
    }

    /// The visitor is typing (`true`) or stopped (`false`); the operator sees it.
    pub fn typing_input(self, active: bool) {
        self.live.typing(active);
    }

    /// Queue a message; it is kept (and retried) until the edge confirms it.
    pub fn send(self, content: String) -> Result<(), ApiError> {
        let content = chat_core::text::without_controls(&content).into_owned();
        let message = PostMessage { client_msg_id: Uuid::new_v4(), content };
        message.validate()?;
        self.live.typing(false);
        self.notice.set(None);
        let message = Outgoing { client_msg_id: message.client_msg_id, content: message.content };
        self.lines.update(|l| l.outbox.push(message));
        self.save();
        self.unstick();
        Ok(())
    }

    /// Try a failed message again now.
    pub fn retry(self, id: Uuid) {
        self.lines.update(|l| l.outbox.retry_now(id));
        self.unstick();
    }

    /// The visitor acted: the background work goes on, even after an unreadable answer.
    fn unstick(self) {
        self.work.update_value(|w| w.stuck = false);
        self.tick();
    }

    /// An answer could not be read (logged by the edge client): say so, and stop calling the
    /// edge until the visitor acts, since no retry mends it.
    fn stuck(self) {
        self.work.update_value(|w| w.stuck = true);
        self.notice.set(Some(UNREADABLE.into()));
    }

    /// End the chat: ask for a rating first, unless it was given.
    pub fn ask_rating(self) {
        self.work.update_value(|w| w.rating_keeps_session = false);
        if self.rated.get_untracked() {
            return self.rate(None, None);
        }
        self.set_stage(Stage::Rating);
    }

    /// What the line under the messages offers now (nothing unless chatting).
    pub fn offer(self) -> Option<Offer> {
        if self.stage.get() != Stage::Chatting {
            return None;
        }
        let rated = self.rated.get();
        self.lines.with(|l| l.offer(rated))
    }

    /// Take the offer: ask for the rating, or for a person (the agent hands the chat over).
    pub fn take_offer(self) {
        match self.offer() {
            Some(Offer::Rating) => self.offer_rating(),
            Some(Offer::Person) => {
                let _ = self.send(HANDOFF_REQUEST.into());
            }
            None => {}
        }
    }

    /// Ask for a rating of the closed conversation; the session goes on.
    fn offer_rating(self) {
        self.work.update_value(|w| w.rating_keeps_session = true);
        self.set_stage(Stage::Rating);
    }

    /// Whether the rating asked for now ends the chat.
    pub fn rating_ends(self) -> bool {
        !self.work.with_value(|w| w.rating_keeps_session)
    }

    /// The answer to the rating form (`None`: skipped): end the chat with it, or, after a
    /// close, rate the session and go on chatting.
    pub fn rate(self, rating: Option<i64>, feedback: Option<String>) {
        let Some(session) = self.session() else { return self.finish("This chat has ended.") };
        let keep = !self.rating_ends();
        if keep {
            self.set_stage(Stage::Chatting);
            if rating.is_none() {
                return;
            }
        }
        spawn_local(async move {
            let body = EndSession { rating, feedback };
            let result = self.edge().end(&session.guest_jwt, &body, keep).await;
            let thanks = rating.is_some() && matches!(&result, Ok(()));
            let already = matches!(&result, Err(CallError::Api(e)) if e.code == ErrorCode::AlreadyRated);
            if thanks || already {
                self.rated.set(true);
                self.save();
            }
            match (keep, result) {
                (true, Err(error)) if !already => self.notice.set(Some(friendly(&error))),
                (true, _) => self.notice.set(Some("Thanks for your feedback!".into())),
                (false, _) if thanks => self.finish("Thanks for your feedback!"),
                (false, _) => self.finish("This chat has ended."),
            }
        });
    }

    /// Forget the ended chat and start a new one.
    pub fn start_over(self) {
        self.set_session(None);
        self.lines.set(Lines::default());
        self.rated.set(false);
        self.notice.set(None);
        self.set_stage(Stage::Idle);
        self.save();
        self.open_panel();
    }

    fn finish(self, notice: &str) {
        self.live.stop();
        self.typing.set(None);
        self.set_operators_online(None);
        self.set_session(None);
        self.notice.set(Some(notice.to_string()));
        self.set_stage(Stage::Ended);
        self.save();
    }

    fn set_stage(self, stage: Stage) {
        self.stage.set(stage);
        let panel = match stage {
            Stage::PreChat | Stage::Idle => PanelView::Form,
            Stage::Starting if self.needs_pre_chat() => PanelView::Form,
            Stage::Rating => PanelView::Rating,
            _ => PanelView::Conversation,
        };
        if self.panel.get_untracked() != panel {
            self.panel.set(panel);
        }
    }

    fn session(self) -> Option<Session> {
        self.work.with_value(|w| w.session.clone())
    }

    fn set_session(self, session: Option<Session>) {
        self.work.update_value(|w| w.session = session);
    }

    /// Treat the guest token as expired, so the next step refreshes it first.
    fn expire_token(self) {
        self.work.update_value(|w| {
            if let Some(session) = &mut w.session {
                session.expires_at = 0;
            }
        });
    }

    fn save(self) {
        let outbox = self.lines.with_untracked(|l| l.outbox.saved());
        let saved = Saved { session: self.session(), outbox, rated: self.rated.get_untracked() };
        self.setup.with_value(|setup| store::save(&setup.storage_key, &saved));
    }

    /// One step of background work, unless one is still running.
    fn tick(self) {
        if self.work.with_value(|w| w.busy || w.stuck || w.session.is_none()) {
            return;
        }
        self.work.update_value(|w| {
            w.busy = true;
            w.ticks += 1;
        });
        spawn_local(async move {
            self.step().await;
            self.work.update_value(|w| w.busy = false);
        });
    }

    async fn step(self) {
        let Some(session) = self.session() else { return };
        if refresh_due(session.expires_at, js_sys::Date::now()) && !self.refresh(&session).await {
            return;
        }
        if let Some(session) = self.session() {
            self.live.start(&session, move |event| self.on_live(event));
        }
        self.deliver_due().await;
        let polling = !self.live.is_joined() && self.work.with_value(|w| w.ticks.is_multiple_of(POLL_EVERY));
        if (self.work.with_value(|w| w.backfill_due) || polling) && self.poll().await {
            self.work.update_value(|w| w.backfill_due = false);
        }
    }

    /// Catch up from the history after every live (re)join, retried each tick until it
    /// succeeds: nothing said while the connection was down is lost.
    fn backfill(self) {
        self.work.update_value(|w| w.backfill_due = true);
        spawn_local(async move {
            if self.poll().await {
                self.work.update_value(|w| w.backfill_due = false);
            }
        });
    }

    /// A message from the live connection: new, edited or deleted.
    fn receive(self, message: Message) {
        if message.sender_type != SenderType::Customer {
            self.typing.set(None);
        }
        let mut merged = Merged::default();
        self.lines.update(|l| merged = l.apply(message));
        self.merged(merged);
    }

    /// An operator's typing news; shown for a while unless the settings turn it off.
    fn show_typing(self, active: bool, name: Option<String>) {
        let active = active && self.config(|c| c.show_typing_indicator);
        self.work.update_value(|w| w.typing.news(active, js_sys::Date::now()));
        if !active {
            self.typing.set(None);
            return;
        }
        let name = name.or_else(|| self.config(|c| c.agent.as_ref().map(|a| a.name.clone())));
        self.typing.set(Some(format!("{} is typing…", name.as_deref().unwrap_or("Someone"))));
        set_timeout(
            move || {
                if !self.work.with_value(|w| w.typing.shown(js_sys::Date::now())) {
                    self.typing.set(None);
                }
            },
            Duration::from_millis(TYPING_SHOWN_MS as u64),
        );
    }

    /// What the live connection heard.
    fn on_live(self, event: LiveEvent) {
        match event {
            LiveEvent::Joined => self.backfill(),
            LiveEvent::Row(message) => self.receive(message),
            LiveEvent::Typing { active, name } => self.show_typing(active, name),
            LiveEvent::Operators(present) => self.set_operators_online(present),
        }
    }

    /// A fresh guest token; false when the session cannot continue (or the edge is away).
    async fn refresh(self, session: &Session) -> bool {
        match self.edge().refresh(&session.token).await {
            Ok(fresh) => {
                self.live.set_token(&fresh.guest_jwt);
                self.set_session(Some(fresh));
                if self.stage.get_untracked() == Stage::Idle {
                    self.set_stage(Stage::Chatting);
                }
                self.save();
                true
            }
            Err(CallError::Api(error)) if error.code.ends_session() => {
                self.finish("This chat has ended. You can start a new one.");
                false
            }
            Err(CallError::Api(_)) => false,
            Err(CallError::Unreadable) => {
                self.stuck();
                false
            }
        }
    }

    async fn deliver_due(self) {
        let due = self.lines.with_untracked(|l| l.outbox.due(js_sys::Date::now()));
        for item in due {
            let Some(session) = self.session() else { return };
            self.lines.update(|l| l.outbox.sending(item.client_msg_id));
            let body = PostMessage { client_msg_id: item.client_msg_id, content: item.content.clone() };
            match self.edge().post(&session.guest_jwt, &body).await {
                Ok(message) => self.merge(vec![message]),
                Err(error) => {
                    let now = js_sys::Date::now();
                    let jitter = js_sys::Math::random();
                    let mut after = AfterFailure::Next;
                    self.lines.update(|l| after = l.outbox.failed(item.client_msg_id, &error, now, jitter));
                    match after {
                        AfterFailure::Next => {}
                        // Keep the order: later messages wait for this one.
                        AfterFailure::Wait => return,
                        AfterFailure::RefreshToken => return self.expire_token(),
                        AfterFailure::SessionOver => {
                            return self.finish("This chat has ended. You can start a new one.");
                        }
                    }
                }
            }
        }
    }

    /// Fetches everything after the newest message; true once caught up.
    async fn poll(self) -> bool {
        loop {
            let Some(session) = self.session() else { return false };
            let after = self.lines.with_untracked(Lines::cursor);
            match self.edge().history(&session.guest_jwt, after).await {
                Ok(page) => {
                    let (mut merged, mut full) = (Merged::default(), false);
                    // Subscribers hear of it only when something changed (an empty poll redraws nothing).
                    self.lines.maybe_update(|l| {
                        (merged, full) = l.add_page(after, page);
                        merged.changed()
                    });
                    self.merged(merged);
                    if !full {
                        return true;
                    }
                }
                Err(CallError::Api(error)) if error.code == ErrorCode::Unauthorized => {
                    self.expire_token();
                    return false;
                }
                Err(CallError::Api(_)) => return false,
                Err(CallError::Unreadable) => {
                    self.stuck();
                    return false;
                }
            }
        }
    }

    /// Add messages not seen yet; drop the outbox entries they confirm.
    fn merge(self, incoming: Vec<Message>) {
        let mut merged = Merged::default();
        self.lines.maybe_update(|l| {
            merged = l.merge(incoming);
            merged.changed()
        });
        self.merged(merged);
    }

    /// After a merge: save a smaller outbox, announce replies, count them while closed.
    fn merged(self, merged: Merged) {
        if merged.confirmed {
            self.save();
        }
        let replies: Vec<&Message> = merged.fresh.iter().filter(|m| m.sender_type != SenderType::Customer).collect();
        if let Some(last) = replies.last() {
            self.announcement.set(format!("New message: {}", last.content));
            if !self.open.get_untracked() {
                self.unread.update(|u| *u += replies.len() as u32);
            }
        }
    }
}

/// What to tell the visitor about a failed call.
pub fn friendly(error: &CallError) -> String {
    match error {
        CallError::Api(error) if matches!(error.code, ErrorCode::UpstreamUnavailable | ErrorCode::Internal) => {
            "We can't reach the chat right now. We'll keep trying.".into()
        }
        CallError::Api(error) => error.message.clone(),
        CallError::Unreadable => UNREADABLE.into(),
    }
}
