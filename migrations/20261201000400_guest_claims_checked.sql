-- A guest token counts only when every claim agrees with the session it names. The guest
-- functions read the token's claims as they were, so a correctly signed token naming one
-- session and another conversation was served that other conversation. Now the session the
-- token names must exist and belong to the token's conversation, site and subject (its
-- customer), and the token must act as `authenticated`; otherwise each function returns null
-- and no policy grants the token anything. A leaked signing key alone can no longer cross
-- conversations: it needs a real session's ids as well, and reaches only that session.
-- Malformed ids in the claims read as null, never as an error.
-- Affects: guest_session_id(), guest_conversation_id(), guest_site_id() (now definer functions:
-- they read chat_sessions whatever the caller may see).

create or replace function public.guest_session_id() returns uuid
language sql stable security definer
set search_path = ''
as $$
  select s.id
  from (select (select auth.jwt()) as jwt) c
  join public.chat_sessions s
    on s.id = case when c.jwt -> 'guest' ->> 'session_id'
                        ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                   then (c.jwt -> 'guest' ->> 'session_id')::uuid end
  where c.jwt ->> 'role' = 'authenticated'
    and s.conversation_id::text = lower(c.jwt -> 'guest' ->> 'conversation_id')
    and s.site_id::text = lower(c.jwt -> 'guest' ->> 'site_id')
    and s.customer_id::text = lower(c.jwt ->> 'sub')
$$;
comment on function public.guest_session_id() is
  'The chat session a guest token names, when its conversation, site and subject agree with the session; else null.';

create or replace function public.guest_conversation_id() returns uuid
language sql stable security definer
set search_path = ''
as $$ select s.conversation_id from public.chat_sessions s where s.id = (select public.guest_session_id()) $$;
comment on function public.guest_conversation_id() is
  'The conversation of a guest token''s checked session (guest_session_id()), or null for other tokens.';

create or replace function public.guest_site_id() returns uuid
language sql stable security definer
set search_path = ''
as $$ select s.site_id from public.chat_sessions s where s.id = (select public.guest_session_id()) $$;
comment on function public.guest_site_id() is
  'The site of a guest token''s checked session (guest_session_id()), or null for other tokens.';
