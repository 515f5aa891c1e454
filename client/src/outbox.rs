//! The outbox: messages written but not confirmed by the edge, oldest first. Each keeps its
//! `client_msg_id` for every try, so the edge stores it once however often it is sent; a failed
//! try is retried with exponential back-off and jitter, after a 429 when the edge says, after a
//! 401 with a fresh token, and never after a refusal that would only repeat itself (nor after an
//! answer the client cannot read).

use crate::call::{CallError, UNREADABLE};
use chat_core::ErrorCode;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A message written but not confirmed yet: what is saved across reloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outgoing {
    /// Generated once; every try sends the same id.
    pub client_msg_id: Uuid,
    /// The text.
    pub content: String,
}

/// How an outgoing message is doing.
#[derive(Clone, Debug, PartialEq)]
pub enum Delivery {
    /// Being sent now, after `attempts` failed tries.
    Sending {
        /// Failed tries so far.
        attempts: u32,
    },
    /// Not confirmed; it is sent again at `due` (ms since the epoch).
    Retrying {
        /// When to try again.
        due: f64,
        /// Failed tries so far.
        attempts: u32,
    },
    /// Refused for good; the reason is shown and only the visitor retries it.
    Failed(String),
}

/// A message of the outbox and how its delivery goes.
#[derive(Clone, Debug, PartialEq)]
pub struct Pending {
    /// The message.
    pub message: Outgoing,
    /// How its delivery goes.
    pub delivery: Delivery,
}

/// When to try again after a failure: exponential back-off from `first_ms`, at most `max_ms`,
/// with "equal jitter" (half of the wait fixed, half random), so widgets that lost the edge
/// together do not all come back in the same second.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// The wait after the first failed try, before jitter.
    pub first_ms: f64,
    /// The longest wait, before jitter.
    pub max_ms: f64,
}

/// The policy of the widget: 1 s, 2 s, 4 s ... up to 30 s, each between half and all of it.
pub const RETRY: RetryPolicy = RetryPolicy { first_ms: 1_000.0, max_ms: 30_000.0 };

/// The wait after a 429 that did not say how long.
const RATE_LIMITED_MS: f64 = 5_000.0;

impl RetryPolicy {
    /// The wait after the `attempts`-th failed try (1: the first), for `jitter` in [0, 1]
    /// (the caller's random number).
    pub fn delay_ms(&self, attempts: u32, jitter: f64) -> f64 {
        let doublings = attempts.saturating_sub(1).min(30) as i32;
        let full = (self.first_ms * 2f64.powi(doublings)).min(self.max_ms);
        full / 2.0 * (1.0 + jitter.clamp(0.0, 1.0))
    }
}

/// What the caller does after a failed try.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFailure {
    /// Stop sending for now: this message is due again later, and the ones after it wait
    /// (the order is kept).
    Wait,
    /// Refresh the guest token, then send again (the message is due at once).
    RefreshToken,
    /// The session is over: the chat ends; the message stays, marked failed.
    SessionOver,
    /// This message is refused for good; go on with the next one.
    Next,
}

/// The messages written but not confirmed, oldest first.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outbox {
    items: Vec<Pending>,
}

impl Outbox {
    /// The outbox saved before a reload: everything is due at once.
    pub fn restore(saved: Vec<Outgoing>) -> Self {
        Self { items: saved.into_iter().map(|message| Pending { message, delivery: DUE_NOW }).collect() }
    }

    /// The messages and their delivery states, oldest first.
    pub fn items(&self) -> &[Pending] {
        &self.items
    }

    /// Whether every message was confirmed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// What to save across reloads.
    pub fn saved(&self) -> Vec<Outgoing> {
        self.items.iter().map(|p| p.message.clone()).collect()
    }

    /// A new message, due at once.
    pub fn push(&mut self, message: Outgoing) {
        self.items.push(Pending { message, delivery: DUE_NOW });
    }

    /// The messages due at `now` (ms since the epoch), oldest first.
    pub fn due(&self, now: f64) -> Vec<Outgoing> {
        self.items
            .iter()
            .filter(|p| matches!(p.delivery, Delivery::Retrying { due, .. } if due <= now))
            .map(|p| p.message.clone())
            .collect()
    }

    /// A try of `client_msg_id` starts.
    pub fn sending(&mut self, client_msg_id: Uuid) {
        if let Some(pending) = self.find(client_msg_id) {
            pending.delivery = Delivery::Sending { attempts: attempts(&pending.delivery) };
        }
    }

    /// The edge has `client_msg_id` (its answer, or the history, says so); true if it was here.
    pub fn confirm(&mut self, client_msg_id: Uuid) -> bool {
        let before = self.items.len();
        self.items.retain(|p| p.message.client_msg_id != client_msg_id);
        self.items.len() != before
    }

    /// Send `client_msg_id` again at once (the visitor's "Retry"); a refused message starts
    /// its back-off anew.
    pub fn retry_now(&mut self, client_msg_id: Uuid) {
        if let Some(pending) = self.find(client_msg_id) {
            pending.delivery = Delivery::Retrying { due: 0.0, attempts: attempts(&pending.delivery) };
        }
    }

    /// A try of `client_msg_id` failed with `error` at `now`; `jitter` is a random number in
    /// [0, 1]. Records when to try again (or that it is refused) and says what to do next.
    pub fn failed(&mut self, client_msg_id: Uuid, error: &CallError, now: f64, jitter: f64) -> AfterFailure {
        let Some(pending) = self.find(client_msg_id) else { return AfterFailure::Next };
        let attempts = attempts(&pending.delivery) + 1;
        let CallError::Api(error) = error else {
            pending.delivery = Delivery::Failed(UNREADABLE.into());
            return AfterFailure::Next;
        };
        let (delivery, after) = match error.code {
            ErrorCode::UpstreamUnavailable | ErrorCode::Internal => {
                (Delivery::Retrying { due: now + RETRY.delay_ms(attempts, jitter), attempts }, AfterFailure::Wait)
            }
            ErrorCode::RateLimited => {
                let wait = error.retry_after.map_or(RATE_LIMITED_MS, |s| f64::from(s) * 1000.0);
                (Delivery::Retrying { due: now + wait, attempts }, AfterFailure::Wait)
            }
            ErrorCode::Unauthorized => (Delivery::Retrying { due: now, attempts }, AfterFailure::RefreshToken),
            code if code.ends_session() => (Delivery::Failed(error.message.clone()), AfterFailure::SessionOver),
            _ => (Delivery::Failed(error.message.clone()), AfterFailure::Next),
        };
        pending.delivery = delivery;
        after
    }

    fn find(&mut self, client_msg_id: Uuid) -> Option<&mut Pending> {
        self.items.iter_mut().find(|p| p.message.client_msg_id == client_msg_id)
    }
}

/// Due at once, no failed try yet.
const DUE_NOW: Delivery = Delivery::Retrying { due: 0.0, attempts: 0 };

/// Failed tries so far (a refused message starts again from none).
fn attempts(delivery: &Delivery) -> u32 {
    match delivery {
        Delivery::Sending { attempts } | Delivery::Retrying { attempts, .. } => *attempts,
        Delivery::Failed(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chat_core::ApiError;

    fn message(text: &str) -> Outgoing {
        Outgoing { client_msg_id: Uuid::new_v4(), content: text.into() }
    }

    fn error(code: ErrorCode) -> ApiError {
        ApiError::new(code, "refused")
    }

    fn refused(code: ErrorCode) -> CallError {
        CallError::Api(error(code))
    }

    /// The defect of the widget's first outbox: it marked a message as sending and then counted
    /// its failed tries from the "retrying" state only, so every retry waited a flat 2 s.
    #[test]
    fn waits_grow_with_each_failed_try_up_to_the_cap() {
        let mut outbox = Outbox::default();
        let hello = message("hello");
        outbox.push(hello.clone());
        let mut now = 0.0;
        let mut waits = Vec::new();
        for _ in 0..8 {
            assert_eq!(outbox.due(now), vec![hello.clone()]);
            outbox.sending(hello.client_msg_id);
            let after = outbox.failed(hello.client_msg_id, &refused(ErrorCode::UpstreamUnavailable), now, 1.0);
            assert_eq!(after, AfterFailure::Wait);
            let Delivery::Retrying { due, .. } = outbox.items()[0].delivery else { panic!("retrying") };
            assert!(outbox.due(due - 1.0).is_empty(), "not due before its time");
            waits.push(due - now);
            now = due;
        }
        assert_eq!(waits, [1_000.0, 2_000.0, 4_000.0, 8_000.0, 16_000.0, 30_000.0, 30_000.0, 30_000.0]);
    }

    #[test]
    fn jitter_spreads_each_wait_between_half_and_all_of_it() {
        for attempts in 1..10 {
            let full = RETRY.delay_ms(attempts, 1.0);
            assert_eq!(RETRY.delay_ms(attempts, 0.0), full / 2.0);
            let middle = RETRY.delay_ms(attempts, 0.5);
            assert!(full / 2.0 < middle && middle < full);
            assert_eq!(RETRY.delay_ms(attempts, 7.0), full, "out-of-range jitter is clamped");
        }
    }

    #[test]
    fn each_refusal_gets_its_own_next_step() {
        let cases = [
            (error(ErrorCode::RateLimited).with_retry_after(7), AfterFailure::Wait, Some(7_000.0)),
            (error(ErrorCode::RateLimited), AfterFailure::Wait, Some(5_000.0)),
            (error(ErrorCode::Unauthorized), AfterFailure::RefreshToken, Some(0.0)),
            (error(ErrorCode::SessionEnded), AfterFailure::SessionOver, None),
            (error(ErrorCode::SessionExpired), AfterFailure::SessionOver, None),
            (error(ErrorCode::InvalidContent), AfterFailure::Next, None),
        ];
        for (error, expected, wait) in cases {
            let mut outbox = Outbox::default();
            let item = message("x");
            outbox.push(item.clone());
            outbox.sending(item.client_msg_id);
            let after = outbox.failed(item.client_msg_id, &error.clone().into(), 100.0, 0.5);
            assert_eq!(after, expected, "{:?}", error.code);
            match (&outbox.items()[0].delivery, wait) {
                (Delivery::Retrying { due, attempts: 1 }, Some(wait)) => assert_eq!(*due, 100.0 + wait),
                (Delivery::Failed(reason), None) => assert_eq!(reason, "refused"),
                (other, _) => panic!("{:?}: {other:?}", error.code),
            }
        }
    }

    #[test]
    fn a_refused_message_is_retried_by_hand_and_the_order_is_kept() {
        let mut outbox = Outbox::default();
        let (first, second) = (message("first"), message("second"));
        outbox.push(first.clone());
        outbox.push(second.clone());
        assert_eq!(outbox.due(0.0), vec![first.clone(), second.clone()]);
        outbox.sending(first.client_msg_id);
        outbox.failed(first.client_msg_id, &refused(ErrorCode::InvalidContent), 0.0, 0.0);
        assert_eq!(outbox.due(10.0), vec![second.clone()], "a refused message waits for the visitor");
        outbox.retry_now(first.client_msg_id);
        assert_eq!(outbox.items()[0].delivery, Delivery::Retrying { due: 0.0, attempts: 0 });
        assert!(outbox.confirm(first.client_msg_id));
        assert!(!outbox.confirm(first.client_msg_id), "confirmed once");
        assert_eq!(outbox.saved(), vec![second]);
    }

    #[test]
    fn a_restored_outbox_is_due_at_once() {
        let saved = vec![message("a"), message("b")];
        let outbox = Outbox::restore(saved.clone());
        assert_eq!(outbox.due(0.0), saved);
        let json = serde_json::to_string(&outbox.saved()).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Outgoing>>(&json).unwrap(), saved, "saved and read back");
    }

    /// A post the edge may have stored but whose answer could not be read: shown as failed at
    /// once (no retry mends a client out of step with the edge), later messages still go, and
    /// the history's copy confirms it.
    #[test]
    fn an_unreadable_answer_fails_the_message_until_the_history_confirms_it() {
        let mut outbox = Outbox::default();
        let (first, second) = (message("first"), message("second"));
        outbox.push(first.clone());
        outbox.push(second.clone());
        outbox.sending(first.client_msg_id);
        assert_eq!(outbox.failed(first.client_msg_id, &CallError::Unreadable, 0.0, 0.0), AfterFailure::Next);
        assert_eq!(outbox.items()[0].delivery, Delivery::Failed(UNREADABLE.into()));
        assert_eq!(outbox.due(1e12), vec![second], "never retried by itself; the next message goes");
        assert!(outbox.confirm(first.client_msg_id), "the history's copy ends it");
    }
}
