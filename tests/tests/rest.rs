//! `/rest/v1` of the dev stack: Supabase's gateway behaviour in front of PostgREST.

mod common;

use common::{anon_key, api, client, sign_up, unique_email};
use serde_json::{Value, json};

/// `GET /rest/v1/{path}` with the anon key, as `bearer` when given; the JSON answer.
async fn rest_get<T: serde::de::DeserializeOwned>(path: &str, bearer: Option<&str>) -> T {
    let mut request = client().get(format!("{}/rest/v1/{path}", api())).header("apikey", anon_key());
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn requests_without_an_api_key_are_refused() {
    let response = client().get(format!("{}/rest/v1/sites", api())).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["message"], "No API key found in request");
}

#[tokio::test]
async fn plus_in_the_query_is_a_space_and_quoted_columns_work() {
    let session = sign_up(&unique_email("rest"), "correct horse").await;
    let token = session["access_token"].as_str().unwrap();
    let rows = json!([{"name": "Plus Sign Shop", "site_key": format!("plus-{}", uuid::Uuid::new_v4().simple())},
                      {"name": "Other shop", "site_key": format!("other-{}", uuid::Uuid::new_v4().simple())}]);
    // Exactly what postgrest-js sends for a bulk insert.
    let inserted = client()
        .post(format!("{}/rest/v1/sites?columns=%22name%22%2C%22site_key%22&select=*", api()))
        .header("apikey", anon_key())
        .bearer_auth(token)
        .header("Prefer", "return=representation")
        .json(&rows)
        .send()
        .await
        .unwrap();
    assert_eq!(inserted.status(), 201, "{}", inserted.text().await.unwrap());

    let found: Vec<Value> = rest_get("sites?select=name&name=eq.Plus+Sign+Shop", Some(token)).await;
    assert_eq!(found, vec![json!({"name": "Plus Sign Shop"})]);
}

#[tokio::test]
async fn anon_reads_one_site_through_the_rpc_but_cannot_list_sites() {
    let rpc: Value = client()
        .post(format!("{}/rest/v1/rpc/widget_config", api()))
        .header("apikey", anon_key())
        .json(&json!({"site_key": "demo-site"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rpc["site_key"], "demo-site");
    let listed: Vec<Value> = rest_get("sites?select=*", None).await;
    assert!(listed.is_empty());
}

#[tokio::test]
async fn schema_reloads_on_notify_pgrst() {
    let db = common::database().await;
    let table = format!("reload_probe_{}", uuid::Uuid::new_v4().simple());
    // A migration's shape: a new table with RLS and a policy, then the reload notification.
    for statement in [
        format!("create table public.{table} (id int primary key)"),
        format!("alter table public.{table} enable row level security"),
        format!("create policy \"anyone reads\" on public.{table} for select to anon using (true)"),
        format!("insert into public.{table} values (1)"),
        "notify pgrst, 'reload schema'".to_string(),
    ] {
        sqlx::raw_sql(sqlx::AssertSqlSafe(statement)).execute(&db).await.unwrap();
    }
    let url = format!("{}/rest/v1/{table}?select=id", api());
    let mut last = None;
    for _ in 0..50 {
        let response = client().get(&url).header("apikey", anon_key()).send().await.unwrap();
        if response.status() == 200 {
            assert_eq!(response.json::<Value>().await.unwrap(), json!([{"id": 1}]));
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!("drop table public.{table}"))).execute(&db).await.unwrap();
            return;
        }
        last = Some(response.status());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the new table never appeared in the API (last status {last:?})");
}

#[tokio::test]
async fn null_rpc_arguments_mean_sql_null() {
    // postrust alone would pass the null uuid as '' and fail the cast.
    let service = common::env("STACK_SECRET_KEY");
    let response = client()
        .post(format!("{}/rest/v1/rpc/link_analytics", api()))
        .header("apikey", &service)
        .bearer_auth(&service)
        .json(&json!({"p_site_id": uuid::Uuid::new_v4(), "p_agent_id": null, "p_days_back": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let analytics: Value = response.json().await.unwrap();
    assert_eq!(analytics["total_links"], 0);
}
