//! The Rust Realtime client (`chat_client::realtime::client`, what the widget runs) against the
//! local Realtime server: private conversation topics, typing both ways, database broadcasts,
//! presence on the site topic, and a dropped socket that reconnects and rejoins.

mod common;

use chat_client::realtime::RowChange;
use chat_client::realtime::client::{Event, JoinConfig, Payload, PresenceConfig};
use chat_client::realtime::presence::Presence;
use common::socket::{Socket, guest_token, is_broadcast, sign};
use common::{database, new_site, new_user, widget_session};
use serde_json::{Value, json};
use std::time::Duration;

async fn post_ai_message(db: &sqlx::PgPool, session: &Value, content: &str) {
    sqlx::query(
        "insert into public.messages (site_id, conversation_id, sender_type, content) values ($1::uuid, $2::uuid, 'ai', $3)",
    )
    .bind(session["site_id"].as_str())
    .bind(session["conversation_id"].as_str())
    .bind(content)
    .execute(db)
    .await
    .unwrap();
}

#[tokio::test]
async fn guest_and_operator_share_a_private_conversation_topic() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (_, site_key) = new_site(&db, owner).await;
    let session = widget_session(&site_key).await;
    let stranger = widget_session(&site_key).await;
    let topic = format!("conversation:{}", session["conversation_id"].as_str().unwrap());
    let private = JoinConfig { private: true, ..JoinConfig::default() };

    let mut visitor = Socket::open(&guest_token(&session)).await;
    let mut operator = Socket::open(&sign(&owner.to_string(), None)).await;
    assert_eq!(visitor.join(&topic, private.clone()).await, Event::Joined { topic: topic.clone() });
    assert_eq!(operator.join(&topic, private.clone()).await, Event::Joined { topic: topic.clone() });
    let mut intruder = Socket::open(&guest_token(&stranger)).await;
    let refused = intruder.join(&topic, private.clone()).await;
    assert!(
        matches!(&refused, Event::JoinRefused { reason, .. } if reason.starts_with("Unauthorized: You do not have permissions to read")),
        "{refused:?}"
    );

    let typing = visitor.client.broadcast(&topic, "typing", &json!({"typing": true, "sender": "customer"}));
    visitor.send(typing).await;
    let seen = operator.until(|e| is_broadcast(e, "typing")).await;
    assert_eq!(
        seen,
        Event::Broadcast {
            topic: topic.clone(),
            event: "typing".into(),
            payload: Payload::new(json!({"typing": true, "sender": "customer"}).to_string())
        }
    );
    let reply = operator.client.broadcast(&topic, "typing", &json!({"typing": true, "sender": "operator"}));
    operator.send(reply).await;
    visitor.until(|e| is_broadcast(e, "typing")).await;

    post_ai_message(&db, &session, "Our hours are 9 to 5").await;
    let Event::Broadcast { payload, .. } = visitor.until(|e| is_broadcast(e, "INSERT")).await else { unreachable!() };
    let row: Value = payload.decode().expect("JSON");
    assert_eq!(row["record"]["content"], "Our hours are 9 to 5");
    assert_eq!(row["record"]["sender_type"], "ai");
    assert!(row["record"]["seq"].is_i64(), "the record carries the history cursor");
    let change: RowChange<chat_core::api::Message> = payload.decode().expect("a core Message");
    assert_eq!(change.record.content, "Our hours are 9 to 5");

    post_ai_message(&db, &stranger, "Someone else's answer").await;
    visitor.quiet(500, |e| is_broadcast(e, "INSERT")).await;
}

/// Internal notes go to the site topic (members only), never to the conversation topic the
/// guest listens on.
#[tokio::test]
async fn internal_notes_reach_staff_and_never_the_guest() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, site_key) = new_site(&db, owner).await;
    let session = widget_session(&site_key).await;
    let conversation = format!("conversation:{}", session["conversation_id"].as_str().unwrap());
    let site_topic = format!("site:{site}");
    let private = JoinConfig { private: true, ..JoinConfig::default() };
    let mut visitor = Socket::open(&guest_token(&session)).await;
    visitor.join(&conversation, private.clone()).await;
    visitor.join(&site_topic, private.clone()).await;
    let mut operator = Socket::open(&sign(&owner.to_string(), None)).await;
    operator.join(&site_topic, private.clone()).await;

    let insert = "insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, content, internal) \
                  values ($1::uuid, $2, 'operator', $3, $4, $5)";
    for (content, internal) in [("Staff only: check the refund", true), ("We are on it", false)] {
        sqlx::query(insert)
            .bind(session["conversation_id"].as_str())
            .bind(site)
            .bind(owner)
            .bind(content)
            .bind(internal)
            .execute(&db)
            .await
            .unwrap();
    }
    let Event::Broadcast { payload, .. } = operator.until(|e| is_broadcast(e, "NOTE_INSERT")).await else {
        unreachable!()
    };
    let note: Value = payload.decode().expect("JSON");
    assert_eq!(note["record"]["content"], "Staff only: check the refund");
    let Event::Broadcast { payload, .. } = visitor.until(|e| is_broadcast(e, "INSERT")).await else { unreachable!() };
    let first: Value = payload.decode().expect("JSON");
    assert_eq!(first["record"]["content"], "We are on it", "the note came first and must not have reached the guest");
    visitor.quiet(300, |e| matches!(e, Event::Broadcast { .. })).await;

    // The visitor writes; staff read it: the guest hears read_at (the widget's "Seen").
    let mut guest = common::connect_as_guest(&session).await;
    sqlx::query("select public.post_message(gen_random_uuid(), 'Thank you!')").execute(&mut guest).await.unwrap();
    visitor.until(|e| is_broadcast(e, "INSERT")).await;
    let mut staff = common::connect_as_user(owner).await;
    sqlx::query("select public.mark_conversation_read($1::uuid)")
        .bind(session["conversation_id"].as_str())
        .execute(&mut staff)
        .await
        .unwrap();
    let Event::Broadcast { payload, .. } = visitor.until(|e| is_broadcast(e, "UPDATE")).await else { unreachable!() };
    let change: RowChange<chat_core::api::Message> = payload.decode().expect("a core Message");
    assert_eq!(change.record.content, "Thank you!");
    assert!(change.record.read_at.is_some(), "read_at reaches the widget");
}

/// Each operator hears their notifications on their own private topic; nobody else may join it.
#[tokio::test]
async fn notifications_reach_their_operator_live() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, site_key) = new_site(&db, owner).await;
    let operator = new_user(&db).await;
    sqlx::query(
        "insert into public.site_members (site_id, user_id, role, availability) values ($1, $2, 'operator', 'online')",
    )
    .bind(site)
    .bind(operator)
    .execute(&db)
    .await
    .unwrap();
    let topic = format!("operator:{operator}");
    let private = JoinConfig { private: true, ..JoinConfig::default() };
    let mut mine = Socket::open(&sign(&operator.to_string(), None)).await;
    assert_eq!(mine.join(&topic, private.clone()).await, Event::Joined { topic: topic.clone() });
    let mut others = Socket::open(&sign(&owner.to_string(), None)).await;
    let refused = others.join(&topic, private.clone()).await;
    assert!(matches!(refused, Event::JoinRefused { .. }), "{refused:?}");

    let session = widget_session(&site_key).await;
    let mut staff = common::connect_as_user(owner).await;
    sqlx::query("select public.assign_conversation($1::uuid, $2)")
        .bind(session["conversation_id"].as_str())
        .bind(operator)
        .execute(&mut staff)
        .await
        .unwrap();
    let Event::Broadcast { payload, .. } = mine.until(|e| is_broadcast(e, "notification")).await else {
        unreachable!()
    };
    let notification: Value = payload.decode().expect("JSON");
    assert_eq!(notification["type"], "chat_assigned");
    assert_eq!(notification["conversation_id"], session["conversation_id"]);
}

#[tokio::test]
async fn a_dropped_socket_reconnects_rejoins_and_receives_again() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (_, site_key) = new_site(&db, owner).await;
    let session = widget_session(&site_key).await;
    let topic = format!("conversation:{}", session["conversation_id"].as_str().unwrap());

    let mut visitor = Socket::open(&guest_token(&session)).await;
    visitor.join(&topic, JoinConfig { private: true, ..JoinConfig::default() }).await;
    let mut client = visitor.lose_connection();
    assert_eq!(client.closed(), 1_000);
    assert!(!client.is_joined(&topic));

    let mut visitor = Socket::reopen(client).await;
    assert_eq!(visitor.until(|e| matches!(e, Event::Joined { .. })).await, Event::Joined { topic: topic.clone() });
    post_ai_message(&db, &session, "After the reconnect").await;
    let Event::Broadcast { payload, .. } = visitor.until(|e| is_broadcast(e, "INSERT")).await else { unreachable!() };
    let change: RowChange<chat_core::api::Message> = payload.decode().expect("a core Message");
    assert_eq!(change.record.content, "After the reconnect");

    let beat = visitor.client.heartbeat();
    visitor.send(beat).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    visitor.quiet(100, |_| false).await;
    assert!(visitor.client.heartbeat().is_some(), "the server answered the heartbeat");
}

#[tokio::test]
async fn guests_see_operator_presence_on_the_site_topic_but_cannot_write_there() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (site_id, site_key) = new_site(&db, owner).await;
    let session = widget_session(&site_key).await;
    let topic = format!("site:{site_id}");

    let mut operator = Socket::open(&sign(&owner.to_string(), None)).await;
    let presence = PresenceConfig { enabled: false, key: owner.to_string() };
    let joined = operator.join(&topic, JoinConfig { private: true, presence, ..JoinConfig::default() }).await;
    assert_eq!(joined, Event::Joined { topic: topic.clone() });
    let track = operator.client.track(&topic, &json!({"role": "operator", "name": "Maya"}));
    operator.send(track).await;
    // The tracker receives its own diff once the server has recorded the presence.
    operator.until(|e| matches!(e, Event::Presence { full: false, .. })).await;

    let mut visitor = Socket::open(&guest_token(&session)).await;
    let mut presence = Presence::default();
    let config = PresenceConfig { enabled: true, key: String::new() };
    let frame = visitor.client.join(&topic, JoinConfig { private: true, presence: config, ..JoinConfig::default() });
    visitor.send(frame).await;
    let Event::Presence { payload, full: true, .. } = visitor.until(|e| matches!(e, Event::Presence { .. })).await
    else {
        unreachable!()
    };
    presence.apply_state(&payload);
    assert_eq!(presence.keys(), [owner.to_string()]);
    let state: Value = payload.decode().expect("JSON");
    assert_eq!(state[owner.to_string()]["metas"][0]["name"], "Maya", "the tracked payload reaches the guest");

    let shout = visitor.client.broadcast(&topic, "conversation_created", &json!({"fake": true}));
    visitor.send(shout).await;
    operator.quiet(500, |e| is_broadcast(e, "conversation_created")).await;

    let other_owner = new_user(&db).await;
    let mut outsider = Socket::open(&sign(&other_owner.to_string(), None)).await;
    let private = JoinConfig { private: true, ..JoinConfig::default() };
    assert!(matches!(outsider.join(&topic, private).await, Event::JoinRefused { .. }));
}

/// Every change an inbox shows reaches the site's staff on the site topic (the console refetches
/// its page on it): a new conversation, a visitor's message, an assignment; a guest on that
/// topic hears none of them.
#[tokio::test]
async fn conversation_changes_reach_staff_on_the_site_topic_and_never_the_guest() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, site_key) = new_site(&db, owner).await;
    let site_topic = format!("site:{site}");
    let private = JoinConfig { private: true, ..JoinConfig::default() };
    let mut staff = Socket::open(&sign(&owner.to_string(), None)).await;
    staff.join(&site_topic, private.clone()).await;
    let news = |event: Event| -> Value {
        let Event::Broadcast { payload, .. } = event else { unreachable!() };
        payload.decode::<Value>().expect("JSON")["record"].clone()
    };

    let session = widget_session(&site_key).await;
    let conversation = session["conversation_id"].clone();
    let created = news(staff.until(|e| is_broadcast(e, "conversation_created")).await);
    assert_eq!((&created["id"], &created["status"]), (&conversation, &json!("waiting")), "{created}");

    let mut visitor = Socket::open(&guest_token(&session)).await;
    visitor.join(&site_topic, private.clone()).await;
    let mut guest = common::connect_as_guest(&session).await;
    sqlx::query("select public.post_message(gen_random_uuid(), 'Anyone?')").execute(&mut guest).await.unwrap();
    let moved = news(staff.until(|e| is_broadcast(e, "conversation_updated")).await);
    assert_eq!(moved["id"], conversation);
    assert!(moved["last_message_at"].is_string(), "a message moves the conversation up: {moved}");

    sqlx::query("update public.site_members set availability = 'online' where site_id = $1 and user_id = $2")
        .bind(site)
        .bind(owner)
        .execute(&db)
        .await
        .unwrap();
    let mut member = common::connect_as_user(owner).await;
    sqlx::query("select public.assign_conversation($1::uuid, $2)")
        .bind(conversation.as_str())
        .bind(owner)
        .execute(&mut member)
        .await
        .unwrap();
    let taken = loop {
        let update = news(staff.until(|e| is_broadcast(e, "conversation_updated")).await);
        if update["status"] == "active" {
            break update;
        }
    };
    assert_eq!(taken["assigned_operator_id"], json!(owner), "{taken}");
    visitor.quiet(300, |e| matches!(e, Event::Broadcast { .. })).await;
}

/// The server's database listener losing its connection (a database restart, a failover,
/// `pg_terminate_backend`) loses no broadcast: after reconnecting it catches up from
/// `realtime.messages` before listening on.
#[tokio::test]
async fn broadcasts_sent_while_the_listener_reconnects_are_delivered() {
    let db = database().await;
    let owner = new_user(&db).await;
    let (site, _) = new_site(&db, owner).await;
    let topic = format!("site:{site}");
    let mut staff = Socket::open(&sign(&owner.to_string(), None)).await;
    staff.join(&topic, JoinConfig { private: true, ..JoinConfig::default() }).await;
    let terminated: i64 = sqlx::query_scalar(
        "select count(pg_terminate_backend(pid)) from pg_stat_activity \
         where datname = current_database() and query ilike 'listen%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(terminated >= 1, "the listener's connection was found");
    for n in 0..20 {
        sqlx::query("select realtime.send(jsonb_build_object('n', $1::int), 'tick', $2, true)")
            .bind(n)
            .bind(&topic)
            .execute(&db)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut heard = Vec::new();
    while heard.len() < 20 {
        let Event::Broadcast { payload, .. } = staff.until(|e| is_broadcast(e, "tick")).await else { unreachable!() };
        heard.push(payload.decode::<Value>().expect("JSON")["n"].as_i64().expect("n"));
    }
    heard.sort_unstable();
    assert_eq!(heard, (0..20).collect::<Vec<_>>(), "each broadcast once");
}
