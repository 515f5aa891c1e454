//! The project's HTTP APIs as the console calls them: its public settings from the edge, then
//! Auth and PostgREST under the project URL.

use chat_client::auth::{AuthRefusal, AuthSession, PasswordGrant, RefreshGrant, SignUp};
use chat_client::call::{CallError, UNREADABLE};
use chat_client::refusal;
use chat_core::ErrorCode;
use chat_core::api::ConsoleConfig;
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Where the console reaches the project, and with which public key.
#[derive(Clone, Debug)]
pub struct Project {
    config: ConsoleConfig,
}

/// A failed call in words for the person using the console.
pub fn sentence(error: &CallError) -> String {
    match error {
        CallError::Api(error) if error.code == ErrorCode::UpstreamUnavailable => {
            "The server cannot be reached. Check the connection; the console keeps trying.".into()
        }
        CallError::Api(error) if error.code == ErrorCode::Internal => {
            "Something went wrong on the server. Please try again.".into()
        }
        CallError::Api(error) => error.message.clone(),
        CallError::Unreadable => UNREADABLE.into(),
    }
}

impl Project {
    /// The deployment's public settings (`GET /v1/console/config` on the console's own origin).
    pub async fn load() -> Result<Self, CallError> {
        let response = Request::get("/v1/console/config").send().await.map_err(|_| unreachable())?;
        let config = json(response).await?;
        Ok(Self { config })
    }

    /// Sign in with email and password.
    pub async fn sign_in(&self, grant: &PasswordGrant) -> Result<AuthSession, AuthRefusal> {
        self.grant("password", grant).await
    }

    /// Create an account (`POST /auth/v1/signup`).
    pub async fn sign_up(&self, account: &PasswordGrant) -> Result<SignUp, AuthRefusal> {
        self.auth_post("/auth/v1/signup", account).await
    }

    /// The next session, for the current one's refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<AuthSession, AuthRefusal> {
        self.grant("refresh_token", &RefreshGrant { refresh_token: refresh_token.into() }).await
    }

    /// End the session on the server (its refresh token stops working).
    pub async fn sign_out(&self, access_token: &str) {
        let request = self.request(Request::post(&self.url("/auth/v1/logout")), access_token);
        // Signing out locally never waits for, or depends on, the server.
        let _ = request.send().await;
    }

    /// `POST /rest/v1/rpc/{name}` as the signed-in user.
    pub async fn rpc<T: DeserializeOwned>(
        &self,
        token: &str,
        name: &str,
        body: &impl Serialize,
    ) -> Result<T, CallError> {
        let request = self.request(Request::post(&self.url(&format!("/rest/v1/rpc/{name}"))), token);
        let response =
            request.json(body).map_err(|_| CallError::Unreadable)?.send().await.map_err(|_| unreachable())?;
        json(response).await
    }

    /// `GET /rest/v1/{table}?{query}` as the signed-in user.
    pub async fn select<T: DeserializeOwned>(
        &self,
        token: &str,
        table: &str,
        query: &[(&str, &str)],
    ) -> Result<T, CallError> {
        let request = self.request(Request::get(&self.url(&format!("/rest/v1/{table}"))), token);
        json(request.query(query.iter().copied()).send().await.map_err(|_| unreachable())?).await
    }

    /// `PATCH /rest/v1/{table}?{query}` as the signed-in user: the rows changed, none when RLS
    /// let none through.
    pub async fn update<T: DeserializeOwned>(
        &self,
        token: &str,
        table: &str,
        query: &[(&str, &str)],
        body: &impl Serialize,
    ) -> Result<Vec<T>, CallError> {
        let request = self
            .request(Request::patch(&self.url(&format!("/rest/v1/{table}"))), token)
            .header("Prefer", "return=representation")
            .query(query.iter().copied());
        let response =
            request.json(body).map_err(|_| CallError::Unreadable)?.send().await.map_err(|_| unreachable())?;
        json(response).await
    }

    /// `POST /rest/v1/{table}` as the signed-in user, reading nothing back (a row the user may
    /// read only once the statement's triggers ran, a new site, cannot be returned by it).
    pub async fn create(&self, token: &str, table: &str, body: &impl Serialize) -> Result<(), CallError> {
        let request = self
            .request(Request::post(&self.url(&format!("/rest/v1/{table}"))), token)
            .header("Prefer", "return=minimal");
        let response =
            request.json(body).map_err(|_| CallError::Unreadable)?.send().await.map_err(|_| unreachable())?;
        if response.ok() {
            return Ok(());
        }
        let text = response.text().await.map_err(|_| unreachable())?;
        Err(CallError::Api(refusal::from_postgrest(response.status(), &text)))
    }

    /// `POST /rest/v1/{table}` as the signed-in user: the rows created.
    pub async fn insert<T: DeserializeOwned>(
        &self,
        token: &str,
        table: &str,
        body: &impl Serialize,
    ) -> Result<Vec<T>, CallError> {
        let request = self
            .request(Request::post(&self.url(&format!("/rest/v1/{table}"))), token)
            .header("Prefer", "return=representation");
        let response =
            request.json(body).map_err(|_| CallError::Unreadable)?.send().await.map_err(|_| unreachable())?;
        json(response).await
    }

    /// A call to the edge (this console's own origin) as the signed-in user: its JSON answer,
    /// or the edge's API error.
    pub async fn edge<T: DeserializeOwned>(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, CallError> {
        let request = match method {
            "POST" => Request::post(path),
            "PATCH" => Request::patch(path),
            "DELETE" => Request::delete(path),
            _ => Request::get(path),
        }
        .header("Authorization", &format!("Bearer {token}"));
        let sent = match body {
            Some(body) => request.json(body).map_err(|_| CallError::Unreadable)?.send().await,
            None => request.send().await,
        };
        let response = sent.map_err(|_| unreachable())?;
        let text = response.text().await.map_err(|_| unreachable())?;
        if response.ok() {
            return serde_json::from_str(&text).map_err(|_| CallError::Unreadable);
        }
        Err(serde_json::from_str::<chat_core::ApiError>(&text).map_or_else(|_| unreachable(), CallError::Api))
    }

    async fn grant<B: Serialize>(&self, grant_type: &str, body: &B) -> Result<AuthSession, AuthRefusal> {
        self.auth_post(&format!("/auth/v1/token?grant_type={grant_type}"), body).await
    }

    /// `DELETE /rest/v1/{table}?{query}` as the signed-in user: the rows deleted.
    pub async fn delete<T: DeserializeOwned>(
        &self,
        token: &str,
        table: &str,
        query: &[(&str, &str)],
    ) -> Result<Vec<T>, CallError> {
        let request = self
            .request(Request::delete(&self.url(&format!("/rest/v1/{table}"))), token)
            .header("Prefer", "return=representation")
            .query(query.iter().copied());
        json(request.send().await.map_err(|_| unreachable())?).await
    }

    async fn auth_post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, AuthRefusal> {
        let request = Request::post(&self.url(path)).header("apikey", &self.config.publishable_key);
        let refused = |msg: String| AuthRefusal { msg: Some(msg), ..AuthRefusal::default() };
        let unreadable = || refused(UNREADABLE.into());
        let response = request
            .json(body)
            .map_err(|_| unreadable())?
            .send()
            .await
            .map_err(|_| refused(sentence(&unreachable())))?;
        if response.ok() {
            return response.json().await.map_err(|_| unreadable());
        }
        Err(response.json().await.unwrap_or_else(|_| unreadable()))
    }

    /// The Realtime endpoint.
    pub fn realtime_url(&self) -> String {
        self.url("/realtime/v1")
    }

    /// The project's publishable key (Realtime takes it as `apikey`).
    pub fn publishable_key(&self) -> &str {
        &self.config.publishable_key
    }

    fn request(&self, request: RequestBuilder, token: &str) -> RequestBuilder {
        request.header("apikey", &self.config.publishable_key).header("Authorization", &format!("Bearer {token}"))
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.supabase_url)
    }
}

/// A 2xx body as `T`, or the API error PostgREST sent (`chat_client::refusal`).
async fn json<T: DeserializeOwned>(response: Response) -> Result<T, CallError> {
    let status = response.status();
    let text = response.text().await.map_err(|_| unreachable())?;
    if response.ok() {
        return serde_json::from_str(&text).map_err(|_| CallError::Unreadable);
    }
    Err(CallError::Api(refusal::from_postgrest(status, &text)))
}

fn unreachable() -> CallError {
    CallError::Api(refusal::unreachable())
}
