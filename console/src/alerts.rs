//! Getting the operator's attention: a short chime (on by default; the browser lets a page
//! play sound only after the person interacted with it, so the audio starts on the first key
//! or click), a desktop notification once the operator allowed them, and the latest alert
//! said in the page (a live region, for screen readers too). Alerts come from the operator's
//! own topic (assigned, transferred, escalated, mentioned) and from new conversations.

use crate::desk::Desk;
use crate::store;
use chat_client::realtime::client::Event;
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use thaw::*;
use web_sys::{AudioContext, Notification, NotificationOptions, NotificationPermission};

/// Where the sound choice is kept.
const SOUND_KEY: &str = "chat-console:sound";

/// An `operator_notifications` row as its broadcast carries it.
#[derive(Deserialize)]
struct Notice {
    title: String,
    #[serde(default)]
    body: String,
}

/// The console's alerts; cheap to copy.
#[derive(Clone, Copy)]
pub struct Alerts {
    sound: RwSignal<bool>,
    permission: RwSignal<&'static str>,
    last: RwSignal<Option<String>>,
    audio: StoredValue<Option<AudioContext>, LocalStorage>,
}

impl Alerts {
    /// Listens for what deserves an alert at `desk`.
    pub fn start(desk: Desk) -> Self {
        let alerts = Self {
            sound: RwSignal::new(store::load(SOUND_KEY).unwrap_or(true)),
            permission: RwSignal::new(permission()),
            last: RwSignal::new(None),
            audio: StoredValue::new_local(None),
        };
        Effect::new(move |_| store::save(SOUND_KEY, Some(&alerts.sound.get())));
        // Autoplay rules: the audio may start only from a user gesture.
        let unlock = move || alerts.unlock_audio();
        let keys = window_event_listener(ev::keydown, move |_| unlock());
        let clicks = window_event_listener(ev::pointerdown, move |_| unlock());
        on_cleanup(move || {
            keys.remove();
            clicks.remove();
        });
        desk.live.listen(format!("operator:{}", desk.me), move |event| {
            if let Some(Event::Broadcast { event, payload, .. }) = event
                && let Some(notice) = payload.decode::<Notice>().filter(|_| event == "notification")
            {
                alerts.alert(&notice.title, &notice.body);
            }
        });
        desk.live.listen(desk.topic(), move |event| {
            if matches!(event, Some(Event::Broadcast { event, .. }) if event == "conversation_created") {
                alerts.alert("New conversation", "A visitor is waiting in the queue.");
            }
        });
        alerts
    }

    /// The sound switch, the desktop-notification opt-in, and the latest alert.
    pub fn controls(self) -> impl IntoView {
        let ask = move |_| {
            let Ok(asked) = Notification::request_permission() else { return };
            spawn_local(async move {
                let _ = wasm_bindgen_futures::JsFuture::from(asked).await;
                self.permission.set(permission());
            });
        };
        view! {
            <Switch id="alert-sound" checked=self.sound label="Sound" />
            <Button appearance=ButtonAppearance::Subtle on_click=ask attr:hidden=move || self.permission.get() != "default">
                "Desktop notifications"
            </Button>
            <span class="alert" role="status" data-testid="alert">{move || self.last.get()}</span>
        }
    }

    fn alert(self, title: &str, body: &str) {
        self.last.set(Some(if body.is_empty() { title.to_owned() } else { format!("{title}: {body}") }));
        if self.sound.get_untracked() {
            self.chime();
        }
        if permission() == "granted" {
            let options = NotificationOptions::new();
            options.set_body(body);
            options.set_tag("chat-console");
            let _ = Notification::new_with_options(title, &options);
        }
    }

    fn unlock_audio(self) {
        if self.audio.with_value(Option::is_some) {
            return;
        }
        if let Ok(audio) = AudioContext::new() {
            let _ = audio.resume();
            self.audio.set_value(Some(audio));
        }
    }

    /// Two short notes, quietly.
    fn chime(self) {
        self.audio.with_value(|audio| {
            let Some(audio) = audio else { return };
            let at = audio.current_time();
            for (offset, pitch) in [(0.0, 880.0), (0.12, 1320.0)] {
                let (Ok(tone), Ok(volume)) = (audio.create_oscillator(), audio.create_gain()) else { return };
                tone.frequency().set_value(pitch);
                volume.gain().set_value(0.08);
                let _ = tone
                    .connect_with_audio_node(&volume)
                    .and_then(|_| volume.connect_with_audio_node(&audio.destination()));
                let _ = tone.start_with_when(at + offset);
                let _ = tone.stop_with_when(at + offset + 0.1);
            }
        });
    }
}

/// The page's notification permission: `default` (not asked), `granted`, `denied`, or
/// `unsupported`.
fn permission() -> &'static str {
    let supported = js_sys::Reflect::has(&window(), &"Notification".into()).unwrap_or(false);
    if !supported {
        return "unsupported";
    }
    match Notification::permission() {
        NotificationPermission::Granted => "granted",
        NotificationPermission::Denied => "denied",
        _ => "default",
    }
}
