//! `/rest/v1` of the dev stack: Supabase's gateway behaviour in front of PostgREST.

mod common;

use common::{anon_key, api, client, sign_up, unique_email};
use serde_json::{Value, json};

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

    let found: Vec<Value> = client()
        .get(format!("{}/rest/v1/sites?select=name&name=eq.Plus+Sign+Shop", api()))
        .header("apikey", anon_key())
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
    let listed: Vec<Value> = client()
        .get(format!("{}/rest/v1/sites?select=*", api()))
        .header("apikey", anon_key())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(listed.is_empty());
}
