//! The console: the operators' inbox and the owners' settings, a Leptos app that talks to
//! Supabase (Auth, PostgREST, Realtime) directly with the signed-in user's token, and to the
//! edge only for its public settings.

mod actions;
mod ai;
mod alerts;
mod analytics;
mod app;
mod auth;
mod composer;
mod conversation;
mod customer;
mod desk;
mod inbox;
mod keys;
mod knowledge;
mod links;
mod live;
mod preview;
mod project;
mod site;
mod sites;
mod store;
mod team;
mod versioned;
mod widget;

fn main() {
    leptos::mount::mount_to_body(app::App);
}
