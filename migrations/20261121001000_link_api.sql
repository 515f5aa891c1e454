-- The owner side of temporary links: creating one stores its token's hash, which no API role
-- may write, so creation is a function; listing, changing and deleting go through the table
-- under its RLS policies.

create or replace function public.create_chat_link(
  p_agent_id uuid,
  p_title text,
  p_token_hash text,
  p_expires_in_hours integer,
  p_description text default '',
  p_welcome_message text default null,
  p_max_sessions integer default 1,
  p_max_messages_per_session integer default 100,
  p_session_timeout_minutes integer default 30,
  p_rate_limit_per_minute integer default 10,
  p_allowed_domains text[] default '{}',
  p_allowed_ips cidr[] default '{}',
  p_ui_customization jsonb default '{}'
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_site_id uuid;
  v_link public.chat_links%rowtype;
begin
  select a.site_id into v_site_id from public.agents a where a.id = p_agent_id;
  if v_site_id is null or not public.has_site_role(v_site_id, array['owner', 'admin']) then
    perform public.refuse('not_found', 'There is no agent with this id on a site you manage.');
  end if;
  if p_expires_in_hours is null or p_expires_in_hours not between 1 and 168 then
    perform public.refuse('validation_failed', 'expires_in_hours must be between 1 and 168.');
  end if;
  insert into public.chat_links (site_id, agent_id, created_by, title, description, welcome_message, expires_at,
                                 max_sessions, max_messages_per_session, session_timeout_minutes,
                                 rate_limit_per_minute, allowed_domains, allowed_ips, ui_customization)
  values (v_site_id, p_agent_id, (select auth.uid()), p_title, coalesce(p_description, ''), p_welcome_message,
          now() + make_interval(hours => p_expires_in_hours), p_max_sessions, p_max_messages_per_session,
          p_session_timeout_minutes, p_rate_limit_per_minute, coalesce(p_allowed_domains, '{}'),
          coalesce(p_allowed_ips, '{}'), coalesce(p_ui_customization, '{}'))
  returning * into v_link;
  insert into public.chat_link_tokens (link_id, site_id, token_hash) values (v_link.id, v_site_id, p_token_hash);
  return public.link_json(v_link);
end;
$$;
comment on function public.create_chat_link is 'Create a temporary link for an agent of a site the caller owns or administers; only the token''s hash is kept.';

-- A link as its owner sees it (the API's `Link`).
create or replace function public.link_json(l public.chat_links) returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', l.id, 'site_id', l.site_id, 'agent_id', l.agent_id, 'short_code', l.short_code, 'title', l.title,
    'description', l.description, 'welcome_message', l.welcome_message, 'expires_at', l.expires_at,
    'max_sessions', l.max_sessions, 'max_messages_per_session', l.max_messages_per_session,
    'session_timeout_minutes', l.session_timeout_minutes, 'rate_limit_per_minute', l.rate_limit_per_minute,
    'allowed_domains', to_jsonb(l.allowed_domains), 'allowed_ips', to_jsonb(l.allowed_ips::text[]),
    'session_count', l.session_count, 'message_count', l.message_count, 'is_active', l.is_active,
    'ui_customization', l.ui_customization, 'created_at', l.created_at)
$$;

revoke execute on function public.create_chat_link(uuid, text, text, integer, text, text, integer, integer, integer,
                                                   integer, text[], cidr[], jsonb) from public, anon;
grant execute on function public.create_chat_link(uuid, text, text, integer, text, text, integer, integer, integer,
                                                  integer, text[], cidr[], jsonb) to authenticated, service_role;

-- Changing a link as its owner: RLS and the column grants apply (invoker). Limits cannot go
-- below what was already used, and the lifetime stays within 168 hours of creation.
create or replace function public.update_chat_link(
  p_link_id uuid,
  p_is_active boolean default null,
  p_extend_hours integer default null,
  p_title text default null,
  p_max_sessions integer default null,
  p_max_messages_per_session integer default null,
  p_session_timeout_minutes integer default null,
  p_rate_limit_per_minute integer default null
) returns jsonb
language plpgsql
set search_path = ''
as $$
declare
  v_link public.chat_links%rowtype;
begin
  select * into v_link from public.chat_links where id = p_link_id;
  if not found then
    raise exception using errcode = 'P0001', message = 'link_not_found', detail = 'There is no link with this id among yours.';
  end if;
  if p_max_sessions is not null and p_max_sessions < v_link.session_count then
    raise exception using errcode = 'P0001', message = 'validation_failed',
      detail = format('max_sessions cannot go below the %s sessions already opened.', v_link.session_count);
  end if;
  if p_extend_hours is not null
     and greatest(v_link.expires_at, now()) + make_interval(hours => p_extend_hours) > v_link.created_at + interval '168 hours' then
    raise exception using errcode = 'P0001', message = 'validation_failed',
      detail = 'A link lives at most 168 hours from its creation.';
  end if;
  update public.chat_links set
    is_active = coalesce(p_is_active, is_active),
    expires_at = case when p_extend_hours is null then expires_at
                      else greatest(expires_at, now()) + make_interval(hours => p_extend_hours) end,
    title = coalesce(p_title, title),
    max_sessions = coalesce(p_max_sessions, max_sessions),
    max_messages_per_session = coalesce(p_max_messages_per_session, max_messages_per_session),
    session_timeout_minutes = coalesce(p_session_timeout_minutes, session_timeout_minutes),
    rate_limit_per_minute = coalesce(p_rate_limit_per_minute, rate_limit_per_minute)
  where id = p_link_id
  returning * into v_link;
  if not found then
    raise exception using errcode = 'P0001', message = 'forbidden',
      detail = 'Only the site''s owners and admins may change its links.';
  end if;
  return public.link_json(v_link);
end;
$$;

-- Analytics over the links the caller may see (invoker: RLS scopes it), for one link, one
-- agent, one site, or all of them, over the last p_days_back days (1-365).
create or replace function public.link_stats(
  p_link_id uuid default null,
  p_agent_id uuid default null,
  p_days_back integer default 30,
  p_site_id uuid default null
) returns jsonb
language sql stable
set search_path = ''
as $$
  with links as (
    select * from public.chat_links
    where (p_link_id is null or id = p_link_id) and (p_agent_id is null or agent_id = p_agent_id)
      and (p_site_id is null or site_id = p_site_id)
  ),
  sessions as (
    select s.* from public.chat_sessions s join links l on l.id = s.link_id
    where s.started_at >= now() - make_interval(days => least(greatest(p_days_back, 1), 365))
  )
  select jsonb_build_object(
    'days_back', least(greatest(p_days_back, 1), 365),
    'total_links', (select count(*) from links),
    'active_links', (select count(*) from links where is_active and expires_at > now()),
    'total_sessions', (select count(*) from sessions),
    'active_sessions', (select count(*) from sessions where status = 'active'),
    'total_messages', (select coalesce(sum(message_count), 0) from sessions),
    'average_session_seconds', (select coalesce(round(avg(extract(epoch from coalesce(ended_at, last_activity_at) - started_at))), 0) from sessions),
    'top_countries', coalesce((
      select jsonb_agg(jsonb_build_object('country', country, 'sessions', n) order by n desc, country)
      from (select country, count(*) as n from sessions where country is not null group by country order by n desc, country limit 5) t
    ), '[]'::jsonb)
  )
$$;
grant execute on function public.update_chat_link(uuid, boolean, integer, text, integer, integer, integer, integer),
                          public.link_stats(uuid, uuid, integer, uuid) to authenticated, service_role;
revoke execute on function public.update_chat_link(uuid, boolean, integer, text, integer, integer, integer, integer),
                           public.link_stats(uuid, uuid, integer, uuid) from anon;

-- The site-wide analytics of migration 000600, now one query with link_stats.
create or replace function public.link_analytics(p_site_id uuid, p_agent_id uuid default null, p_days_back integer default 30)
returns jsonb
language sql stable
set search_path = ''
as $$ select public.link_stats(null, p_agent_id, p_days_back, p_site_id) - 'days_back' $$;
