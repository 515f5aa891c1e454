-- Resuming and refreshing a session follow the same rules as starting one. resume_session
-- took only the token, so POST /v1/sessions (resume) and /v1/sessions/refresh accepted any
-- page origin, and the new guest JWT was bound to that foreign origin; a resume token of one
-- site was accepted under another site's key. Now the page's origin must be one of the site's
-- allowed origins (when it lists any; a link's session is bound by its link's own allowlist
-- when opened), and a resume names the site it expects: a token of another site is
-- `session_not_found` there, so the edge starts a new session on the site asked for.
-- Locks only the session row (as before).
-- Affects: resume_session (now (token_hash, origin, site_key, now)).

drop function public.resume_session(text, timestamptz);

create function public.resume_session(
  p_token_hash text,
  p_origin text default null,
  p_site_key text default null,
  p_now timestamptz default now()
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
  v_site public.sites%rowtype;
begin
  select s.* into v_session
  from public.chat_session_tokens t join public.chat_sessions s on s.id = t.session_id
  where t.token_hash = p_token_hash
  for update of s;
  if not found then
    perform public.refuse('session_not_found', 'This chat session does not exist.');
  end if;
  select * into v_site from public.sites where id = v_session.site_id;
  if p_site_key is not null and v_site.site_key is distinct from p_site_key then
    perform public.refuse('session_not_found', 'This chat session belongs to another site.');
  end if;
  if v_session.link_id is null and cardinality(v_site.allowed_origins) > 0
     and (p_origin is null or not p_origin = any (v_site.allowed_origins)) then
    perform public.refuse('origin_not_allowed', 'This website may not continue chats of this site.');
  end if;
  perform public.refuse_unless_open(v_session, p_now);
  return jsonb_build_object('session_id', v_session.id, 'conversation_id', v_session.conversation_id,
                            'customer_id', v_session.customer_id, 'site_id', v_session.site_id,
                            'link_id', v_session.link_id, 'resumed', true);
end;
$$;
comment on function public.resume_session(text, text, text, timestamptz) is
  'The session a resume token names, if it may still be used from this origin and for this site.';
revoke execute on function public.resume_session(text, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.resume_session(text, text, text, timestamptz) to service_role;
