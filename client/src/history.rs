//! The conversation as the client knows it: the confirmed messages in `seq` order, merged from
//! history pages, answers to posts and live rows (each message once, however often and in
//! whatever order it arrives), with the outbox of messages not confirmed yet.

use crate::outbox::Outbox;
use chat_core::api::{MAX_PAGE, Message, MessagePage, SenderType};

/// The metadata kind of the system message that tells the visitor the site closed the conversation.
const CLOSED_KIND: &str = "conversation_closed";
/// The metadata kind of the automatic answer that says nobody can answer now.
const AWAY_KIND: &str = "away_message";

/// What the chat offers under its messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// Rating the conversation the site closed (the session goes on).
    Rating,
    /// A person instead of the automatic answers (`chat_core::api::HANDOFF_REQUEST`).
    Person,
}

/// Confirmed messages and the outbox: one value, since what shows the chat reads both.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lines {
    messages: Vec<Message>,
    /// Everything up to this `seq` came from the history. Only history pages move it: a message
    /// learned from a post's answer or the live connection may be newer than one not seen yet.
    cursor: i64,
    /// Messages written but not confirmed, oldest first, with their delivery states.
    pub outbox: Outbox,
}

/// What a merge changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Merged {
    /// Messages not known before, in `seq` order.
    pub fresh: Vec<Message>,
    /// Whether an outbox entry was confirmed (the outbox to save changed).
    pub confirmed: bool,
}

impl Merged {
    /// Whether anything changed.
    pub fn changed(&self) -> bool {
        self.confirmed || !self.fresh.is_empty()
    }
}

impl Lines {
    /// No messages yet; `outbox` holds what was written before a reload.
    pub fn new(outbox: Outbox) -> Self {
        Self { outbox, ..Self::default() }
    }

    /// The confirmed messages, in `seq` order.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// Where the next history page starts (`GET /v1/messages?after=`).
    pub fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Adds the messages not known yet (by id) in `seq` order, takes a known one as it is now
    /// (an edit; an agent's answer replacing its draft, `chat_core::api::DRAFT_EVENT`), leaves
    /// out and removes deleted ones, and drops the outbox entries they confirm (a lost answer
    /// still counts as delivered).
    pub fn merge(&mut self, incoming: Vec<Message>) -> Merged {
        let mut merged = Merged::default();
        for message in incoming {
            if let Some(id) = message.client_msg_id {
                merged.confirmed |= self.outbox.confirm(id);
            }
            let known = self.messages.iter().position(|m| m.id == message.id);
            if let Some(at) = known {
                self.messages.remove(at);
            }
            if message.deleted_at.is_some() {
                continue;
            }
            // Almost always this is the end.
            let at = self.messages.partition_point(|m| m.seq <= message.seq);
            self.messages.insert(at, message.clone());
            if known.is_none() {
                let at = merged.fresh.partition_point(|m| m.seq <= message.seq);
                merged.fresh.insert(at, message);
            }
        }
        merged
    }

    /// A history page fetched after `after`: merged, and the cursor moves past it. Also says
    /// whether the page was full (then the next one should be fetched at once).
    pub fn add_page(&mut self, after: i64, page: MessagePage) -> (Merged, bool) {
        let full = page.messages.len() as i64 >= MAX_PAGE;
        self.cursor = self.cursor.max(after).max(page.next_cursor);
        (self.merge(page.messages), full)
    }

    /// A live change of a message: a new one is merged, an edited one replaced, a deleted one
    /// removed.
    pub fn apply(&mut self, message: Message) -> Merged {
        self.merge(vec![message])
    }

    /// What to offer under the messages, judged by the last one while nothing is on its way: a
    /// rating once the site closed the conversation (unless `rated`), a person after an
    /// automatic or agent's answer (not after the away message: nobody is there).
    pub fn offer(&self, rated: bool) -> Option<Offer> {
        let last = self.messages.last().filter(|_| self.outbox.is_empty())?;
        match last.metadata.kind.as_deref() {
            Some(CLOSED_KIND) if !rated => Some(Offer::Rating),
            Some(AWAY_KIND) => None,
            _ => (last.sender_type == SenderType::Ai).then_some(Offer::Person),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::Outgoing;
    use chat_core::api::SenderType;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn message(seq: i64, client_msg_id: Option<Uuid>) -> Message {
        Message {
            id: Uuid::from_u128(seq as u128),
            seq,
            conversation_id: Uuid::nil(),
            sender_type: if client_msg_id.is_some() { SenderType::Customer } else { SenderType::Operator },
            message_type: "text".into(),
            content: format!("message {seq}"),
            metadata: Default::default(),
            client_msg_id,
            created_at: "2026-12-02T10:00:00Z".into(),
            edited_at: None,
            deleted_at: None,
            read_at: None,
        }
    }

    #[test]
    fn a_rating_is_offered_after_a_close_and_a_person_after_an_automatic_answer() {
        let with = |sender_type: SenderType, kind: Option<&str>| Message {
            sender_type,
            metadata: chat_core::api::MessageMetadata { kind: kind.map(String::from), ..Default::default() },
            ..message(2, None)
        };
        let lines = |last: Message| {
            let mut lines = Lines::default();
            lines.merge(vec![message(1, Some(Uuid::from_u128(1))), last]);
            lines
        };
        let closed = lines(with(SenderType::System, Some("conversation_closed")));
        assert_eq!(closed.offer(false), Some(Offer::Rating));
        assert_eq!(closed.offer(true), None, "rated once");
        for kind in [Some("ai_reply"), Some("knowledge_answer"), None] {
            assert_eq!(lines(with(SenderType::Ai, kind)).offer(false), Some(Offer::Person), "{kind:?}");
        }
        assert_eq!(lines(with(SenderType::Ai, Some("away_message"))).offer(false), None);
        assert_eq!(lines(with(SenderType::System, Some("handoff"))).offer(false), None);
        assert_eq!(lines(with(SenderType::Operator, None)).offer(false), None);
        assert_eq!(Lines::default().offer(false), None);
        let mut waiting = lines(with(SenderType::Ai, Some("ai_reply")));
        waiting.outbox.push(Outgoing { client_msg_id: Uuid::from_u128(9), content: "Talk to a person".into() });
        assert_eq!(waiting.offer(false), None, "asked already: on its way");
    }

    fn seqs(lines: &Lines) -> Vec<i64> {
        lines.messages().iter().map(|m| m.seq).collect()
    }

    #[test]
    fn an_agents_draft_shows_last_until_its_answer_or_its_removal_replaces_it() {
        let draft = |content: &str| Message {
            sender_type: SenderType::Ai,
            content: content.into(),
            ..message(chat_core::api::DRAFT_SEQ, None)
        };
        let mut lines = Lines::default();
        lines.apply(message(1, Some(Uuid::from_u128(1))));
        assert_eq!(lines.apply(draft("…")).fresh.len(), 1);
        lines.apply(draft("Three"));
        lines.apply(message(2, Some(Uuid::from_u128(2))));
        assert_eq!(seqs(&lines), [1, 2, chat_core::api::DRAFT_SEQ], "the draft stays last");
        assert_eq!(lines.messages()[2].content, "Three");
        // The stored answer, from the history or live: the same id, its real place.
        let stored = Message { content: "Three days.".into(), seq: 3, ..draft("") };
        let (merged, _) = lines.add_page(0, MessagePage { messages: vec![stored.clone()], next_cursor: 3 });
        assert!(merged.fresh.is_empty(), "no new message: the draft became it");
        assert_eq!(seqs(&lines), [1, 2, 3]);
        assert_eq!(lines.messages()[2].content, "Three days.");
        // A failed answer's draft is removed.
        let mut failed = Lines::default();
        failed.apply(draft("Half"));
        failed.apply(Message { deleted_at: Some("2026-12-02T10:00:01Z".into()), ..draft("Half") });
        assert!(failed.messages().is_empty());
    }

    #[test]
    fn a_gap_left_by_live_rows_is_filled_by_the_backfill() {
        let mut lines = Lines::default();
        lines.add_page(0, MessagePage { messages: vec![message(1, None), message(2, None)], next_cursor: 2 });
        // The socket was down for 3 and 4; 5 arrived live after the rejoin.
        let live = lines.apply(message(5, None));
        assert_eq!(live.fresh.len(), 1);
        assert_eq!(lines.cursor(), 2, "a live row does not move the cursor past the gap");
        let (backfill, full) = lines.add_page(
            lines.cursor(),
            MessagePage { messages: vec![message(3, None), message(4, None), message(5, None)], next_cursor: 5 },
        );
        assert!(!full);
        assert_eq!(backfill.fresh.iter().map(|m| m.seq).collect::<Vec<_>>(), [3, 4], "5 once");
        assert_eq!(seqs(&lines), [1, 2, 3, 4, 5]);
        assert_eq!(lines.cursor(), 5);
    }

    #[test]
    fn edits_replace_deletions_remove_and_a_lost_answer_still_confirms() {
        let id = Uuid::new_v4();
        let mut outbox = Outbox::default();
        outbox.push(Outgoing { client_msg_id: id, content: "message 1".into() });
        let mut lines = Lines::new(outbox);
        let merged = lines.merge(vec![message(1, Some(id))]);
        assert!(merged.confirmed && lines.outbox.is_empty(), "the history confirms the outbox entry");
        let mut edited = message(1, Some(id));
        edited.content = "edited".into();
        assert!(!lines.apply(edited).changed(), "an edit adds nothing");
        assert_eq!(lines.messages()[0].content, "edited");
        let mut deleted = message(1, Some(id));
        deleted.deleted_at = Some("2026-12-02T10:01:00Z".into());
        lines.apply(deleted.clone());
        assert!(lines.messages().is_empty());
        assert!(!lines.merge(vec![deleted]).changed(), "a deleted message is never added back");
    }

    /// One way a message can reach the client.
    #[derive(Clone, Debug)]
    enum Arrival {
        /// The answer to the visitor's post of message `i`.
        Answer(usize),
        /// Message `i` on the live connection.
        Live(usize),
        /// A history page from the cursor, at most `n` messages of those stored so far.
        Page(usize),
        /// Message `i` is stored on the server (it becomes visible to pages).
        Stored(usize),
    }

    fn arrival() -> impl Strategy<Value = Arrival> {
        prop_oneof![
            (0..12usize).prop_map(Arrival::Answer),
            (0..12usize).prop_map(Arrival::Live),
            (1..5usize).prop_map(Arrival::Page),
            (0..12usize).prop_map(Arrival::Stored),
        ]
    }

    proptest! {
        /// Whatever the interleaving of answers, live rows and backfill pages, each message is
        /// there once, in `seq` order, and every visitor message that arrived left the outbox.
        #[test]
        fn any_interleaving_yields_each_message_once_in_order(arrivals in proptest::collection::vec(arrival(), 0..60)) {
            let server: Vec<Message> = (0..12)
                .map(|i| message(i as i64 + 1, (i % 3 == 0).then(|| Uuid::from_u128(1000 + i as u128))))
                .collect();
            let mut outbox = Outbox::default();
            for m in server.iter().filter(|m| m.client_msg_id.is_some()) {
                outbox.push(Outgoing { client_msg_id: m.client_msg_id.unwrap(), content: m.content.clone() });
            }
            let mut lines = Lines::new(outbox);
            let mut stored = 0usize;
            let mut seen = std::collections::BTreeSet::new();
            for arrival in arrivals {
                let merged = match arrival {
                    Arrival::Stored(i) => { stored = stored.max(i + 1); continue }
                    Arrival::Answer(i) | Arrival::Live(i) if i < stored => lines.merge(vec![server[i].clone()]),
                    Arrival::Answer(_) | Arrival::Live(_) => continue,
                    Arrival::Page(n) => {
                        let after = lines.cursor();
                        let page: Vec<Message> = server[..stored].iter().filter(|m| m.seq > after).take(n).cloned().collect();
                        let next_cursor = page.last().map_or(after, |m| m.seq);
                        lines.add_page(after, MessagePage { messages: page, next_cursor }).0
                    }
                };
                for m in merged.fresh {
                    prop_assert!(seen.insert(m.seq), "message {} reported new twice", m.seq);
                }
            }
            // Catching up from the cursor brings everything stored, still once each.
            loop {
                let after = lines.cursor();
                let page: Vec<Message> = server[..stored].iter().filter(|m| m.seq > after).take(4).cloned().collect();
                if page.is_empty() { break }
                let next_cursor = page.last().map_or(after, |m| m.seq);
                for m in lines.add_page(after, MessagePage { messages: page, next_cursor }).0.fresh {
                    prop_assert!(seen.insert(m.seq), "message {} reported new twice", m.seq);
                }
            }
            let got = seqs(&lines);
            prop_assert_eq!(&got, &(1..=stored as i64).collect::<Vec<_>>());
            prop_assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, once: {:?}", got);
            prop_assert_eq!(got.iter().copied().collect::<std::collections::BTreeSet<_>>(), seen);
            for m in lines.messages() {
                if let Some(id) = m.client_msg_id {
                    prop_assert!(
                        lines.outbox.items().iter().all(|p| p.message.client_msg_id != id),
                        "delivered yet still in the outbox"
                    );
                }
            }
        }
    }
}
