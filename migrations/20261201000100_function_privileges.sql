-- Execute rights are given, never inherited. PostgreSQL grants EXECUTE on every new function
-- to PUBLIC, and a Supabase project's default privileges grant it to anon and authenticated as
-- well, so a function whose migration revoked it from anon stayed callable by anon through
-- PUBLIC (update_chat_link, link_stats), and helpers no API role needs were callable by all.
-- Now no function of this schema is executable through PUBLIC, functions created later are
-- executable by no API role until a migration grants it, and each API role holds exactly the
-- grants listed here or in the function's own migration (tests/tests/database.rs checks the
-- effective privileges of every function, per role).
-- Affects: every function of the public schema; the schema's default privileges.

revoke execute on all functions in schema public from public;
-- PostgreSQL's own grant to PUBLIC is global: only a global default can take it back.
alter default privileges revoke execute on functions from public;
alter default privileges in schema public revoke execute on functions from anon, authenticated;

-- Used by policies that apply to signed-in users (guests hold an authenticated token).
revoke execute on function public.guest_site_id(), public.guest_conversation_id(), public.guest_session_id() from anon;
grant execute on function public.guest_site_id(), public.guest_conversation_id(), public.guest_session_id()
  to authenticated, service_role;
-- Helpers without privileges of their own (they run as the caller, under RLS).
revoke execute on function public.search_knowledge(uuid, text, integer), public.normalize_phone(text),
  public.support_level_rank(text), public.is_open(jsonb, text, timestamptz), public.link_json(public.chat_links)
  from anon;
grant execute on function public.search_knowledge(uuid, text, integer), public.normalize_phone(text),
  public.support_level_rank(text), public.is_open(jsonb, text, timestamptz), public.link_json(public.chat_links)
  to authenticated, service_role;
