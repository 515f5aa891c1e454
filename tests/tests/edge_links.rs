//! The owner's temporary-link API and the AI tool catalog, through the edge in workerd, as the
//! owner (RLS): every bound, isolation between owners, paging, changes, analytics, tools.

mod common;

use chat_core::links::{CreatedLink, Link, LinkPage};
use chat_core::{ApiError, Claims, ErrorCode, Role};
use common::{client, database, edge, env, new_site, new_user, token_hash};
use reqwest::{Method, Response};
use serde_json::{Value, json};
use uuid::Uuid;

/// A new owner with a site and an agent; returns (owner token, agent id, site id).
async fn owner_with_agent(db: &sqlx::PgPool) -> (String, Uuid, Uuid) {
    let owner = new_user(db).await;
    let (site, _) = new_site(db, owner).await;
    let agent: Uuid = sqlx::query_scalar("insert into public.agents (site_id, name) values ($1, 'Maya') returning id")
        .bind(site)
        .fetch_one(db)
        .await
        .unwrap();
    (user_token(owner), agent, site)
}

fn user_token(user: Uuid) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut claims = Claims::api_key(Role::Authenticated, now, now + 3600);
    claims.sub = Some(user.to_string());
    claims.aud = Some("authenticated".into());
    common::auth_key().sign(&claims).unwrap()
}

async fn call(method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Response {
    let mut request = client().request(method, format!("{}{path}", edge()));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

async fn refused(response: Response, status: u16, code: ErrorCode) -> ApiError {
    assert_eq!(response.status(), status);
    let error: ApiError = response.json().await.unwrap();
    assert_eq!(error.code, code, "{}", error.message);
    error
}

fn link_body(agent: Uuid) -> Value {
    json!({"agent_id": agent, "title": "Help with order 1042", "expires_in_hours": 24})
}

async fn create(token: &str, body: Value) -> CreatedLink {
    let response = call(Method::POST, "/v1/links", Some(token), Some(body)).await;
    assert_eq!(response.status(), 201);
    response.json().await.unwrap()
}

#[tokio::test]
async fn creating_needs_an_owner_and_shows_the_token_once() {
    let db = database().await;
    let (token, agent, site) = owner_with_agent(&db).await;
    refused(call(Method::POST, "/v1/links", None, Some(link_body(agent))).await, 401, ErrorCode::Unauthorized).await;
    let anon = env("STACK_PUBLISHABLE_KEY");
    refused(call(Method::POST, "/v1/links", Some(&anon), Some(link_body(agent))).await, 401, ErrorCode::Unauthorized)
        .await;

    let created = create(&token, link_body(agent)).await;
    assert_eq!(created.link.site_id, site);
    assert_eq!(created.url, format!("{}/c/{}#{}", edge(), created.link.short_code, created.token));
    assert!(created.token.len() >= 43, "a 256-bit token");
    let stored: String = sqlx::query_scalar("select token_hash from public.chat_link_tokens where link_id = $1")
        .bind(created.link.id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(stored, common::sha256_hex(&db, &created.token).await, "only the hash is stored");

    // Someone else's agent is not found; so is a link of another owner.
    let (stranger, _, _) = owner_with_agent(&db).await;
    refused(call(Method::POST, "/v1/links", Some(&stranger), Some(link_body(agent))).await, 404, ErrorCode::NotFound)
        .await;
    let path = format!("/v1/links/{}", created.link.id);
    refused(
        call(Method::PATCH, &path, Some(&stranger), Some(json!({"is_active": false}))).await,
        404,
        ErrorCode::LinkNotFound,
    )
    .await;
    refused(call(Method::DELETE, &path, Some(&stranger), None).await, 404, ErrorCode::LinkNotFound).await;
    let theirs: LinkPage = call(Method::GET, "/v1/links", Some(&stranger), None).await.json().await.unwrap();
    assert!(theirs.links.is_empty());
}

#[tokio::test]
async fn every_bound_accepts_its_ends_and_refuses_the_next_value() {
    let db = database().await;
    let (token, agent, _) = owner_with_agent(&db).await;
    let bounds = [
        ("expires_in_hours", 1, 168),
        ("max_sessions", 1, 50),
        ("max_messages_per_session", 1, 1000),
        ("session_timeout_minutes", 5, 1440),
        ("rate_limit_per_minute", 1, 100),
    ];
    for (field, low, high) in bounds {
        for (value, accepted) in [(low, true), (high, true), (low - 1, false), (high + 1, false)] {
            let mut body = link_body(agent);
            body[field] = json!(value);
            let response = call(Method::POST, "/v1/links", Some(&token), Some(body)).await;
            if accepted {
                assert_eq!(response.status(), 201, "{field} = {value}");
            } else {
                let error = refused(response, 422, ErrorCode::ValidationFailed).await;
                assert!(error.fields.contains_key(field), "{field} = {value}: {:?}", error.fields);
            }
        }
    }
    for (field, ok, too_long) in [
        ("title", "t".repeat(200), "t".repeat(201)),
        ("description", "d".repeat(1000), "d".repeat(1001)),
        ("welcome_message", "w".repeat(2000), "w".repeat(2001)),
    ] {
        let mut body = link_body(agent);
        body[field] = json!(ok);
        assert_eq!(call(Method::POST, "/v1/links", Some(&token), Some(body.clone())).await.status(), 201, "{field}");
        body[field] = json!(too_long);
        refused(call(Method::POST, "/v1/links", Some(&token), Some(body)).await, 422, ErrorCode::ValidationFailed)
            .await;
    }
    // Values the database would refuse are refused here first: a network with host bits set,
    // a page look of more than 16 KB of JSON.
    for (field, value) in [
        ("allowed_ips", json!(["203.0.113.0/24", "not-an-ip"])),
        ("allowed_ips", json!(["10.0.0.1/8"])),
        ("ui_customization", json!({"logo": "x".repeat(2_000_000)})),
        ("ui_customization", json!({"logo": "x".repeat(16_384)})),
    ] {
        let mut body = link_body(agent);
        body[field] = value;
        let error =
            refused(call(Method::POST, "/v1/links", Some(&token), Some(body)).await, 422, ErrorCode::ValidationFailed)
                .await;
        assert!(error.fields.contains_key(field), "{field}: {:?}", error.fields);
    }
    let mut body = link_body(agent);
    body["allowed_domains"] = json!(["shop.example.com"]);
    body["allowed_ips"] = json!(["203.0.113.0/24", "2001:db8::/32"]);
    let created = create(&token, body).await;
    assert_eq!(created.link.allowed_ips, ["203.0.113.0/24", "2001:db8::/32"]);
}

#[tokio::test]
async fn owners_list_page_change_and_delete_their_links() {
    let db = database().await;
    let (token, agent, _) = owner_with_agent(&db).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let mut body = link_body(agent);
        body["title"] = json!(format!("Link {n}"));
        ids.push(create(&token, body).await.link.id);
    }
    let first: LinkPage = call(Method::GET, "/v1/links?limit=2", Some(&token), None).await.json().await.unwrap();
    assert_eq!(first.links.iter().map(|l| l.title.as_str()).collect::<Vec<_>>(), ["Link 2", "Link 1"]);
    let cursor = first.next_cursor.expect("a second page");
    let path = format!("/v1/links?limit=2&cursor={}", urlencode(&cursor));
    let second: LinkPage = call(Method::GET, &path, Some(&token), None).await.json().await.unwrap();
    assert_eq!(second.links.iter().map(|l| l.title.as_str()).collect::<Vec<_>>(), ["Link 0"]);
    assert_eq!(second.next_cursor, None);
    refused(call(Method::GET, "/v1/links?limit=101", Some(&token), None).await, 422, ErrorCode::ValidationFailed).await;
    refused(
        call(Method::GET, "/v1/links?cursor=not-a-date", Some(&token), None).await,
        422,
        ErrorCode::ValidationFailed,
    )
    .await;

    let path = format!("/v1/links/{}", ids[0]);
    let off: Link =
        call(Method::PATCH, &path, Some(&token), Some(json!({"is_active": false}))).await.json().await.unwrap();
    assert!(!off.is_active);
    let active: LinkPage = call(Method::GET, "/v1/links", Some(&token), None).await.json().await.unwrap();
    assert_eq!(active.links.len(), 2, "switched-off links are left out by default");
    let all: LinkPage =
        call(Method::GET, &format!("/v1/links?include_inactive=true&agent_id={agent}"), Some(&token), None)
            .await
            .json()
            .await
            .unwrap();
    assert_eq!(all.links.len(), 3);

    let before = off.expires_at.clone();
    let extended: Link =
        call(Method::PATCH, &path, Some(&token), Some(json!({"extend_hours": 24}))).await.json().await.unwrap();
    assert!(extended.expires_at > before, "{} > {before}", extended.expires_at);
    let error = refused(
        call(Method::PATCH, &path, Some(&token), Some(json!({"extend_hours": 168}))).await,
        422,
        ErrorCode::ValidationFailed,
    )
    .await;
    assert!(error.message.contains("168 hours"), "{}", error.message);
    refused(call(Method::PATCH, &path, Some(&token), Some(json!({}))).await, 422, ErrorCode::ValidationFailed).await;
    refused(
        call(Method::PATCH, &path, Some(&token), Some(json!({"max_sessions": 51}))).await,
        422,
        ErrorCode::ValidationFailed,
    )
    .await;

    assert_eq!(call(Method::DELETE, &path, Some(&token), None).await.status(), 204);
    refused(call(Method::DELETE, &path, Some(&token), None).await, 404, ErrorCode::LinkNotFound).await;
}

#[tokio::test]
async fn analytics_and_sessions_of_a_link() {
    let db = database().await;
    let (token, agent, _) = owner_with_agent(&db).await;
    let mut body = link_body(agent);
    body["max_sessions"] = json!(3);
    let created = create(&token, body).await;
    for country in ["DE", "DE", "FR"] {
        let mut service = common::connect_as_service().await;
        let _: Value = sqlx::query_scalar("select public.open_link_session($1, $2, p_country => $3)")
            .bind(common::sha256_hex(&db, &created.token).await)
            .bind(token_hash())
            .bind(country)
            .fetch_one(&mut service)
            .await
            .unwrap();
    }
    let base = format!("/v1/links/{}", created.link.id);
    let stats: Value =
        call(Method::GET, &format!("{base}/analytics?days_back=7"), Some(&token), None).await.json().await.unwrap();
    assert_eq!(stats["total_links"], 1);
    assert_eq!(stats["total_sessions"], 3);
    assert_eq!(stats["active_sessions"], 3);
    assert_eq!(stats["top_countries"], json!([{"country": "DE", "sessions": 2}, {"country": "FR", "sessions": 1}]));
    refused(
        call(Method::GET, &format!("{base}/analytics?days_back=366"), Some(&token), None).await,
        422,
        ErrorCode::ValidationFailed,
    )
    .await;
    let sessions: Value =
        call(Method::GET, &format!("{base}/sessions"), Some(&token), None).await.json().await.unwrap();
    assert_eq!(sessions["sessions"].as_array().unwrap().len(), 3);
    let error = refused(
        call(Method::PATCH, &base, Some(&token), Some(json!({"max_sessions": 2}))).await,
        422,
        ErrorCode::ValidationFailed,
    )
    .await;
    assert!(error.message.contains("3 sessions"), "{}", error.message);
    let (stranger, _, _) = owner_with_agent(&db).await;
    refused(call(Method::GET, &format!("{base}/sessions"), Some(&stranger), None).await, 404, ErrorCode::LinkNotFound)
        .await;
}

#[tokio::test]
async fn an_ai_agent_drives_create_list_and_analytics_through_the_tools() {
    let db = database().await;
    let (token, agent, _) = owner_with_agent(&db).await;
    let catalog: Value = call(Method::GET, "/v1/tools", None, None).await.json().await.unwrap();
    let names: Vec<&str> =
        catalog["tools"].as_array().unwrap().iter().map(|t| t["function"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["create_temporary_chat_link", "list_temporary_chat_links", "get_temporary_chat_analytics"]);

    let run = |name: &str, arguments: Value| {
        let token = token.clone();
        let path = format!("/v1/tools/{name}");
        async move { call(Method::POST, &path, Some(&token), Some(arguments)).await }
    };
    let created: Value = run(
        "create_temporary_chat_link",
        json!({"agent_id": agent, "title": "Quote follow-up", "expires_in_hours": 48, "max_sessions": 2}),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(created["tool"], "create_temporary_chat_link");
    assert!(created["result"]["url"].as_str().unwrap().contains("/c/"));
    let listed: Value = run("list_temporary_chat_links", json!({"agent_id": agent})).await.json().await.unwrap();
    assert_eq!(listed["result"]["links"][0]["title"], "Quote follow-up");
    let stats: Value = run("get_temporary_chat_analytics", json!({"days_back": 30})).await.json().await.unwrap();
    assert_eq!(stats["result"]["total_links"], 1);
    assert_eq!(stats["result"]["active_links"], 1);

    refused(
        run("create_temporary_chat_link", json!({"agent_id": agent, "title": "x", "expires_in_hours": 0})).await,
        422,
        ErrorCode::ValidationFailed,
    )
    .await;
    refused(run("list_temporary_chat_links", json!({"limit": "all"})).await, 422, ErrorCode::ValidationFailed).await;
    refused(run("drop_everything", json!({})).await, 404, ErrorCode::NotFound).await;
    refused(
        call(Method::POST, "/v1/tools/list_temporary_chat_links", None, Some(json!({}))).await,
        401,
        ErrorCode::Unauthorized,
    )
    .await;
}

fn urlencode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn open(code: &str, body: Value) -> Response {
    call(Method::POST, &format!("/v1/links/{code}/sessions"), None, Some(body)).await
}

#[tokio::test]
async fn a_hundred_guests_race_for_five_sessions_and_exactly_five_get_in() {
    let db = database().await;
    let (token, agent, _) = owner_with_agent(&db).await;
    let mut body = link_body(agent);
    body["max_sessions"] = json!(5);
    let link = create(&token, body).await;
    let attempts = (0..100).map(|_| open(&link.link.short_code, json!({"token": link.token})));
    let responses = futures_util::future::join_all(attempts).await;
    let mut statuses: Vec<u16> = responses.iter().map(|r| r.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 5, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    let full = responses.into_iter().find(|r| r.status() == 409).unwrap();
    refused(full, 409, ErrorCode::LinkFull).await;
    let count: i64 = sqlx::query_scalar("select count(*) from public.chat_sessions where link_id = $1")
        .bind(link.link.id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 5);
}

#[tokio::test]
async fn guests_chat_within_the_link_limits_and_refusals_have_their_own_codes() {
    let db = database().await;
    let (token, agent, _) = owner_with_agent(&db).await;
    let mut body = link_body(agent);
    body["max_sessions"] = json!(3);
    body["rate_limit_per_minute"] = json!(1);
    body["max_messages_per_session"] = json!(2);
    body["welcome_message"] = json!("Hi, I'm here for your order.");
    let link = create(&token, body).await;

    refused(open(&link.link.short_code, json!({"token": "wrong"})).await, 404, ErrorCode::LinkNotFound).await;
    refused(open("0123456789ab", json!({"token": link.token})).await, 404, ErrorCode::LinkNotFound).await;
    let response = open(&link.link.short_code, json!({"token": link.token})).await;
    assert_eq!(response.status(), 201);
    let opened: chat_core::links::OpenedLink = response.json().await.unwrap();
    assert_eq!(opened.title, "Help with order 1042");
    assert_eq!(opened.widget.title, "Help with order 1042");
    assert_eq!(opened.widget.welcome_message, "Hi, I'm here for your order.");
    assert_eq!(opened.widget.agent.as_ref().map(|a| a.name.as_str()), Some("Maya"));
    assert!(!opened.widget.require_name && !opened.widget.require_email, "link guests are anonymous");

    let post = |content: &str| {
        let body = json!({"client_msg_id": Uuid::new_v4(), "content": content});
        let jwt = opened.session.guest_jwt.clone();
        async move { client().post(format!("{}/v1/messages", edge())).bearer_auth(jwt).json(&body).send().await.unwrap() }
    };
    assert_eq!(post("first").await.status(), 201);
    let limited = refused(post("too fast").await, 429, ErrorCode::RateLimited).await;
    assert!(limited.retry_after.is_some());
    sqlx::query("update public.chat_sessions set rate_window_start = now() - interval '2 minutes' where link_id = $1")
        .bind(link.link.id)
        .execute(&db)
        .await
        .unwrap();
    assert_eq!(post("second and last").await.status(), 201);
    let ended = refused(post("one more").await, 409, ErrorCode::SessionEnded).await;
    assert!(ended.message.to_lowercase().contains("ended"), "{}", ended.message);
    let reason: String = sqlx::query_scalar("select end_reason from public.chat_sessions where id = $1")
        .bind(opened.session.session_id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(reason, "max_messages");

    let path = format!("/v1/links/{}", link.link.id);
    assert_eq!(call(Method::PATCH, &path, Some(&token), Some(json!({"is_active": false}))).await.status(), 200);
    refused(open(&link.link.short_code, json!({"token": link.token})).await, 410, ErrorCode::LinkInactive).await;

    let mut body = link_body(agent);
    body["allowed_ips"] = json!(["203.0.113.0/24"]);
    let fenced = create(&token, body).await;
    refused(open(&fenced.link.short_code, json!({"token": fenced.token})).await, 403, ErrorCode::IpNotAllowed).await;
    let mut body = link_body(agent);
    body["allowed_domains"] = json!(["shop.example.com"]);
    let scoped = create(&token, body).await;
    let from = |referrer: &str| json!({"token": scoped.token, "referrer": referrer});
    refused(open(&scoped.link.short_code, from("https://evil.example.net/")).await, 403, ErrorCode::DomainNotAllowed)
        .await;
    assert_eq!(open(&scoped.link.short_code, from("https://help.shop.example.com/order")).await.status(), 201);
    let endless = format!("https://help.shop.example.com/{}", "x".repeat(2_000_000));
    refused(open(&scoped.link.short_code, from(&endless)).await, 422, ErrorCode::ValidationFailed).await;
    let smuggled = json!({"token": scoped.token, "referrer": "https://shop.example.com/", "max_sessions": 50});
    refused(open(&scoped.link.short_code, smuggled).await, 400, ErrorCode::BadRequest).await;
}

#[tokio::test]
async fn expired_links_are_refused_and_the_cron_switches_them_off() {
    let db = database().await;
    let (token, agent, _) = owner_with_agent(&db).await;
    let link = create(&token, link_body(agent)).await;
    let opened = open(&link.link.short_code, json!({"token": link.token})).await;
    assert_eq!(opened.status(), 201);
    // Move the link's lifetime into the past (its creation too, so the CHECKs hold).
    sqlx::query(
        "update public.chat_links set created_at = now() - interval '3 hours', expires_at = now() - interval '1 hour' \
         where id = $1",
    )
    .bind(link.link.id)
    .execute(&db)
    .await
    .unwrap();
    refused(open(&link.link.short_code, json!({"token": link.token})).await, 410, ErrorCode::LinkExpired).await;

    let cron = client().get(format!("{}/__scheduled?cron=*/15+*+*+*+*", edge())).send().await.unwrap();
    assert!(cron.status().is_success(), "{}", cron.status());
    let (active, ended): (bool, i64) = sqlx::query_as(
        "select l.is_active, (select count(*) from public.chat_sessions s where s.link_id = l.id and s.end_reason = 'link_expired') \
         from public.chat_links l where l.id = $1",
    )
    .bind(link.link.id)
    .fetch_one(&db)
    .await
    .unwrap();
    assert!(!active, "the scheduled cleanup switched the expired link off");
    assert_eq!(ended, 1, "and ended its session");
}

#[tokio::test]
async fn the_link_page_is_served_for_every_code_and_never_cached() {
    let response = client().get(format!("{}/c/3fa9c1d2e4b5", edge())).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
    assert!(response.text().await.unwrap().contains("/link.js"));
}
