//! The console: the operators' inbox, a Leptos app that talks to Supabase (Auth, PostgREST,
//! Realtime) directly with the signed-in user's token, and to the edge only for its public
//! settings.

mod app;
mod auth;
mod composer;
mod conversation;
mod inbox;
mod live;
mod project;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
