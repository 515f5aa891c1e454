//! Which handler a request goes to, decided without Worker types.

use chat_core::{ApiError, ErrorCode};

/// Every route the edge serves.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `GET /v1/sites/{site_key}/widget`: a site's public widget settings.
    WidgetConfig {
        /// The site's public key, as given in the path.
        site_key: String,
    },
    /// `POST /v1/sessions`: start or resume a chat session.
    StartSession,
    /// `POST /v1/sessions/refresh`: a new guest JWT for a session.
    RefreshSession,
    /// `POST /v1/sessions/end`: end the guest's session, with an optional rating.
    EndSession,
    /// `POST /v1/sessions/rating`: rate the guest's session without ending it (once).
    RateSession,
    /// `POST /v1/messages`: post a visitor message.
    PostMessage,
    /// `GET /v1/messages?after=&limit=`: the guest's conversation history.
    ListMessages,
    /// `POST /v1/handoff`: the guest asks for a person instead of the AI agent.
    Handoff,
    /// `POST /v1/links`: an owner creates a temporary link.
    CreateLink,
    /// `GET /v1/links`: an owner's links.
    ListLinks,
    /// `PATCH /v1/links/{id}`: change a link.
    UpdateLink {
        /// The link's id, as given in the path.
        id: String,
    },
    /// `DELETE /v1/links/{id}`: delete a link.
    DeleteLink {
        /// The link's id.
        id: String,
    },
    /// `GET /v1/links/{id}/analytics`: a link's numbers.
    LinkAnalytics {
        /// The link's id.
        id: String,
    },
    /// `GET /v1/links/{id}/sessions`: a link's sessions.
    LinkSessions {
        /// The link's id.
        id: String,
    },
    /// `POST /v1/links/{short_code}/sessions`: a guest opens a link with its token.
    OpenLink {
        /// The link's public code, as given in the path; it must be the token's link.
        code: String,
    },
    /// `GET /c/{short_code}`: the link's full-page chat.
    LinkPage,
    /// `GET /v1/tools`: the tool catalog for AI agents.
    Tools,
    /// `POST /v1/tools/{name}`: run a tool with the caller's rights.
    RunTool {
        /// The tool's name.
        name: String,
    },
    /// `GET /v1/console/config`: the project's public URL and key, for the console.
    ConsoleConfig,
    /// `OPTIONS` on an API path: a CORS preflight.
    Preflight,
}

/// Resolve `method` and `path` to a route, or the JSON error to answer with.
pub fn resolve(method: &str, path: &str) -> Result<Route, ApiError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (allowed, route): (&[&str], Route) = match segments.as_slice() {
        ["v1", "sites", site_key, "widget"] => {
            (&["GET", "HEAD"], Route::WidgetConfig { site_key: (*site_key).to_string() })
        }
        ["v1", "sessions"] => (&["POST"], Route::StartSession),
        ["v1", "sessions", "refresh"] => (&["POST"], Route::RefreshSession),
        ["v1", "sessions", "end"] => (&["POST"], Route::EndSession),
        ["v1", "sessions", "rating"] => (&["POST"], Route::RateSession),
        ["v1", "messages"] => match method {
            "GET" | "HEAD" => (&["GET", "HEAD"], Route::ListMessages),
            _ => (&["POST"], Route::PostMessage),
        },
        ["v1", "handoff"] => (&["POST"], Route::Handoff),
        ["v1", "links"] => match method {
            "GET" | "HEAD" => (&["GET", "HEAD", "POST"], Route::ListLinks),
            _ => (&["GET", "HEAD", "POST"], Route::CreateLink),
        },
        ["v1", "links", id] => match method {
            "DELETE" => (&["PATCH", "DELETE"], Route::DeleteLink { id: (*id).to_string() }),
            _ => (&["PATCH", "DELETE"], Route::UpdateLink { id: (*id).to_string() }),
        },
        ["v1", "links", id, "analytics"] => (&["GET", "HEAD"], Route::LinkAnalytics { id: (*id).to_string() }),
        ["v1", "links", id, "sessions"] => match method {
            "POST" => (&["GET", "HEAD", "POST"], Route::OpenLink { code: (*id).to_string() }),
            _ => (&["GET", "HEAD", "POST"], Route::LinkSessions { id: (*id).to_string() }),
        },
        ["c", _] => (&["GET", "HEAD"], Route::LinkPage),
        ["v1", "tools"] => (&["GET", "HEAD"], Route::Tools),
        ["v1", "console", "config"] => (&["GET", "HEAD"], Route::ConsoleConfig),
        ["v1", "tools", name] => (&["POST"], Route::RunTool { name: (*name).to_string() }),
        _ => return Err(ApiError::new(ErrorCode::NotFound, format!("no route for {path}"))),
    };
    if method == "OPTIONS" {
        Ok(Route::Preflight)
    } else if allowed.contains(&method) {
        Ok(route)
    } else {
        Err(method_not_allowed())
    }
}

fn method_not_allowed() -> ApiError {
    ApiError::new(ErrorCode::MethodNotAllowed, "this method is not allowed here")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_and_tool_routes() {
        assert_eq!(resolve("POST", "/v1/links").unwrap(), Route::CreateLink);
        assert_eq!(resolve("GET", "/v1/links").unwrap(), Route::ListLinks);
        assert_eq!(resolve("PATCH", "/v1/links/abc").unwrap(), Route::UpdateLink { id: "abc".into() });
        assert_eq!(resolve("DELETE", "/v1/links/abc").unwrap(), Route::DeleteLink { id: "abc".into() });
        assert_eq!(resolve("GET", "/v1/links/abc/analytics").unwrap(), Route::LinkAnalytics { id: "abc".into() });
        assert_eq!(resolve("GET", "/v1/links/abc/sessions").unwrap(), Route::LinkSessions { id: "abc".into() });
        assert_eq!(resolve("GET", "/v1/tools").unwrap(), Route::Tools);
        assert_eq!(resolve("GET", "/v1/console/config").unwrap(), Route::ConsoleConfig);
        assert_eq!(
            resolve("POST", "/v1/links/3fa9c1d2e4b5/sessions").unwrap(),
            Route::OpenLink { code: "3fa9c1d2e4b5".into() }
        );
        assert_eq!(resolve("GET", "/c/3fa9c1d2e4b5").unwrap(), Route::LinkPage);
        assert_eq!(
            resolve("POST", "/v1/tools/list_temporary_chat_links").unwrap(),
            Route::RunTool { name: "list_temporary_chat_links".into() }
        );
        assert_eq!(resolve("PUT", "/v1/links/abc").unwrap_err().code, ErrorCode::MethodNotAllowed);
        assert_eq!(resolve("POST", "/v1/tools").unwrap_err().code, ErrorCode::MethodNotAllowed);
    }

    #[test]
    fn widget_config_route_takes_the_site_key() {
        assert_eq!(
            resolve("GET", "/v1/sites/demo-site/widget").unwrap(),
            Route::WidgetConfig { site_key: "demo-site".into() }
        );
        assert_eq!(
            resolve("GET", "/v1/sites/demo-site/widget/").unwrap(),
            Route::WidgetConfig { site_key: "demo-site".into() }
        );
    }

    #[test]
    fn chat_routes() {
        assert_eq!(resolve("POST", "/v1/sessions").unwrap(), Route::StartSession);
        assert_eq!(resolve("POST", "/v1/sessions/refresh").unwrap(), Route::RefreshSession);
        assert_eq!(resolve("POST", "/v1/sessions/end").unwrap(), Route::EndSession);
        assert_eq!(resolve("POST", "/v1/sessions/rating").unwrap(), Route::RateSession);
        assert_eq!(resolve("POST", "/v1/messages").unwrap(), Route::PostMessage);
        assert_eq!(resolve("GET", "/v1/messages").unwrap(), Route::ListMessages);
        assert_eq!(resolve("POST", "/v1/handoff").unwrap(), Route::Handoff);
        assert_eq!(resolve("GET", "/v1/handoff").unwrap_err().code, ErrorCode::MethodNotAllowed);
    }

    #[test]
    fn unknown_paths_and_methods_are_json_errors() {
        assert_eq!(resolve("GET", "/v1/nothing").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(resolve("GET", "/v1/sites//widget/extra").unwrap_err().code, ErrorCode::NotFound);
        assert_eq!(resolve("POST", "/v1/sites/demo-site/widget").unwrap_err().code, ErrorCode::MethodNotAllowed);
        assert_eq!(resolve("GET", "/v1/sessions").unwrap_err().code, ErrorCode::MethodNotAllowed);
        assert_eq!(resolve("DELETE", "/v1/messages").unwrap_err().code, ErrorCode::MethodNotAllowed);
        assert_eq!(resolve("GET", "/widget/0123abcd/missing.js").unwrap_err().code, ErrorCode::NotFound);
    }

    #[test]
    fn preflights() {
        assert_eq!(resolve("OPTIONS", "/v1/sites/demo-site/widget").unwrap(), Route::Preflight);
        assert_eq!(resolve("OPTIONS", "/v1/messages").unwrap(), Route::Preflight);
    }
}
