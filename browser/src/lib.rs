//! The browser I/O the widget and the console share: [`Socket`], the Realtime connection over
//! the browser's WebSocket. The protocol (joins, refs, heartbeats, rejoin and reconnect delays)
//! is `chat_client::realtime::client::Client`; this crate only moves its frames and timers.

use chat_client::realtime::client::{Client, Event, HEARTBEAT_INTERVAL_MS, Outgoing};
use leptos::prelude::*;
use std::rc::Rc;
use std::time::Duration;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What the connection reports to its owner.
pub enum Heard {
    /// A protocol event (joins, broadcasts, presence ...). Refused and closed channels are
    /// rejoined by the socket itself after the client's delay.
    Event(Event),
    /// The connection was lost; it reconnects (and rejoins) after the client's delay.
    Lost,
}

struct Driver<S> {
    client: Client,
    url: String,
    socket: Option<WebSocket>,
    /// Bumped per WebSocket, so events of a replaced one are ignored.
    generation: u32,
    handlers: Vec<Closure<dyn FnMut(web_sys::Event)>>,
    heard: Rc<dyn Fn(Heard)>,
    /// The heartbeat timer, running while the connection is wanted.
    heartbeat: Option<IntervalHandle>,
    /// What the owner keeps per connection (its topics, presence ...), stored with it.
    owner: S,
}

/// A Realtime connection, absent until [`Socket::start`], with the owner's state `S` for
/// that connection; cheap to copy.
pub struct Socket<S: 'static> {
    state: StoredValue<Option<Driver<S>>, LocalStorage>,
}

impl<S> Clone for Socket<S> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S> Copy for Socket<S> {}

impl<S> Default for Socket<S> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Socket<S> {
    /// Not connected yet.
    pub fn new() -> Self {
        Self { state: StoredValue::new_local(None) }
    }

    /// Connects to `url` with `client` (its channels already asked for) and the owner's state,
    /// unless started; what it hears goes to `heard`.
    pub fn start(self, url: String, client: Client, owner: S, heard: impl Fn(Heard) + 'static) {
        if self.is_started() {
            return;
        }
        let heard = Rc::new(heard);
        let every = Duration::from_millis(u64::from(HEARTBEAT_INTERVAL_MS));
        let heartbeat = set_interval_with_handle(move || self.heartbeat(), every).ok();
        let driver = Driver { client, url, socket: None, generation: 0, handlers: Vec::new(), heard, heartbeat, owner };
        self.state.set_value(Some(driver));
        self.connect();
    }

    /// Whether [`Socket::start`] ran (and [`Socket::stop`] did not since).
    pub fn is_started(self) -> bool {
        self.state.with_value(Option::is_some)
    }

    /// Disconnects for good, its timer with it.
    pub fn stop(self) {
        let Some(driver) = self.state.try_update_value(Option::take).flatten() else { return };
        if let Some(timer) = driver.heartbeat {
            timer.clear();
        }
        if let Some(socket) = driver.socket {
            let _ = socket.close();
        }
    }

    /// Works on the owner's state, reading the protocol client (`None` before
    /// [`Socket::start`]).
    pub fn with_owner<R>(self, work: impl FnOnce(&mut S, &Client) -> R) -> Option<R> {
        self.state.try_update_value(|d| d.as_mut().map(|d| work(&mut d.owner, &d.client))).flatten()
    }

    /// Lets the client make frames (a broadcast, a new token) and sends them if connected.
    pub fn send_with(self, make: impl FnOnce(&mut Client, &mut S) -> Vec<Outgoing>) {
        self.state.update_value(|driver| {
            if let Some(driver) = driver {
                let frames = make(&mut driver.client, &mut driver.owner);
                if let Some(socket) = &driver.socket {
                    send(socket, frames);
                }
            }
        });
    }

    fn connect(self) {
        self.state.update_value(|driver| {
            let Some(driver) = driver else { return };
            driver.generation += 1;
            let generation = driver.generation;
            let Ok(socket) = WebSocket::new(&driver.url) else {
                let delay = driver.client.closed();
                set_timeout(move || self.connect(), Duration::from_millis(u64::from(delay)));
                return;
            };
            socket.set_binary_type(BinaryType::Arraybuffer);
            let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| self.opened(generation));
            let on_message = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
                if let Ok(message) = event.dyn_into::<MessageEvent>() {
                    self.received(generation, message.data());
                }
            });
            let on_close = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| self.closed(generation));
            socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
            socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
            driver.handlers = vec![on_open, on_message, on_close];
            driver.socket = Some(socket);
        });
    }

    fn current(self, generation: u32) -> bool {
        self.state.with_value(|d| d.as_ref().is_some_and(|d| d.generation == generation))
    }

    fn opened(self, generation: u32) {
        if self.current(generation) {
            self.send_with(|client, _| client.opened());
        }
    }

    fn closed(self, generation: u32) {
        if !self.current(generation) {
            return;
        }
        let delay = self.state.try_update_value(|driver| {
            driver.as_mut().map(|driver| {
                driver.socket = None;
                driver.client.closed()
            })
        });
        self.tell(Heard::Lost);
        if let Some(Some(delay)) = delay {
            leptos::logging::log!("chat: live connection lost; reconnecting in {delay} ms");
            set_timeout(move || self.connect(), Duration::from_millis(u64::from(delay)));
        }
    }

    fn heartbeat(self) {
        self.state.update_value(|driver| {
            let Some(driver) = driver else { return };
            let Some(socket) = &driver.socket else { return };
            match driver.client.heartbeat() {
                Some(frame) => send(socket, vec![frame]),
                // The previous heartbeat was never answered: the socket is dead.
                None if socket.ready_state() == WebSocket::OPEN => {
                    let _ = socket.close();
                }
                None => {}
            }
        });
    }

    fn received(self, generation: u32, data: wasm_bindgen::JsValue) {
        if !self.current(generation) {
            return;
        }
        let events = self
            .state
            .try_update_value(|driver| {
                let client = &mut driver.as_mut()?.client;
                Some(match data.as_string() {
                    Some(text) => client.receive_text(&text),
                    None => client.receive_binary(&js_sys::Uint8Array::new(&data).to_vec()),
                })
            })
            .flatten()
            .unwrap_or_default();
        for event in events {
            if let Event::JoinRefused { topic, .. } | Event::Closed { topic } = &event {
                self.rejoin_later(topic.clone());
            }
            self.tell(Heard::Event(event));
        }
    }

    fn rejoin_later(self, topic: String) {
        let delay = self.with_owner(|_, c| c.rejoin_delay(&topic)).unwrap_or(1_000);
        set_timeout(
            move || self.send_with(|client, _| client.rejoin(&topic).into_iter().collect()),
            Duration::from_millis(u64::from(delay)),
        );
    }

    /// Tells the owner, outside any borrow of the state (the owner may call back in).
    fn tell(self, heard: Heard) {
        if let Some(tell) = self.state.with_value(|d| d.as_ref().map(|d| d.heard.clone())) {
            tell(heard);
        }
    }
}

fn send(socket: &WebSocket, frames: Vec<Outgoing>) {
    if socket.ready_state() != WebSocket::OPEN {
        return;
    }
    for frame in frames {
        let _ = match frame {
            Outgoing::Text(text) => socket.send_with_str(&text),
            Outgoing::Binary(bytes) => socket.send_with_u8_array(&bytes),
        };
    }
}
