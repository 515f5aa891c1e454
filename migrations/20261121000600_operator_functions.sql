-- Operator work in SQL: the assignment queue (004), release and reassignment with a review
-- flag, idle detection, escalation (001), link analytics (000) and operator stats (004).
-- Affects: take_next_conversation, release_conversation, detect_idle_assignments,
--          escalate_conversation, link_analytics, operator_stats.

-- Position of a support level on the ladder (t1 = 1 ... manager = 4).
create or replace function public.support_level_rank(p_level text) returns integer
language sql immutable
set search_path = ''
as $$ select array_position(array['t1', 't2', 't3', 'manager'], p_level) $$;

-- Put an assigned conversation back in the queue: close its open assignment with the reason,
-- count the reassignment, and flag it for review from the third one on.
create or replace function public.requeue(p_conversation_id uuid, p_reason text, p_at timestamptz)
returns public.conversations
language plpgsql
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  update public.conversation_assignments set released_at = p_at, release_reason = p_reason
  where conversation_id = p_conversation_id and released_at is null;
  update public.conversations
  set status = 'waiting', assigned_operator_id = null, assigned_at = null,
      reassignment_count = reassignment_count + 1,
      needs_review = needs_review or reassignment_count + 1 >= 3
  where id = p_conversation_id
  returning * into v_conversation;
  return v_conversation;
end;
$$;
revoke execute on function public.requeue(uuid, text, timestamptz) from public, anon, authenticated;

-- The calling operator takes the oldest waiting conversation of the site that its support
-- level may handle. SKIP LOCKED lets concurrent operators each take a different one.
create or replace function public.take_next_conversation(p_site_id uuid) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_member public.site_members%rowtype;
  v_open integer;
  v_conversation public.conversations%rowtype;
begin
  select * into v_member from public.site_members
  where site_id = p_site_id and user_id = auth.uid() and role in ('owner', 'admin', 'operator');
  if not found then
    perform public.refuse('forbidden', 'Only operators of this site can take conversations.');
  end if;
  if v_member.availability <> 'online' then
    perform public.refuse('operator_unavailable', 'Set yourself online to take conversations.');
  end if;
  select count(*) into v_open from public.conversation_assignments
  where operator_id = v_member.user_id and site_id = p_site_id and released_at is null;
  if v_open >= v_member.max_concurrent_chats then
    perform public.refuse('operator_at_capacity', 'You already hold as many conversations as you may.');
  end if;

  select * into v_conversation from public.conversations
  where site_id = p_site_id and status = 'waiting'
    and public.support_level_rank(escalation_level) <= public.support_level_rank(v_member.support_level)
  order by created_at
  for update skip locked
  limit 1;
  if not found then
    return null;
  end if;

  update public.conversations
  set status = 'active', assigned_operator_id = v_member.user_id, assigned_at = now()
  where id = v_conversation.id
  returning * into v_conversation;
  insert into public.conversation_assignments (site_id, conversation_id, operator_id)
  values (p_site_id, v_conversation.id, v_member.user_id);
  insert into public.conversation_participants (conversation_id, site_id, user_id, role)
  values (v_conversation.id, p_site_id, v_member.user_id, 'operator')
  on conflict (conversation_id, user_id) where user_id is not null do update set left_at = null;
  insert into public.operator_daily_stats (site_id, user_id, day, conversations_handled)
  values (p_site_id, v_member.user_id, (now() at time zone 'UTC')::date, 1)
  on conflict (site_id, user_id, day) do update
    set conversations_handled = public.operator_daily_stats.conversations_handled + 1;
  update public.site_members set last_active_at = now() where site_id = p_site_id and user_id = v_member.user_id;
  return to_jsonb(v_conversation);
end;
$$;

-- Put a conversation back in the queue: by the operator holding it, an owner or admin, or
-- the service role (idle detection). The third reassignment flags it for review.
create or replace function public.release_conversation(p_conversation_id uuid, p_reason text default 'manual')
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  if p_reason not in ('idle', 'transfer', 'operator_offline', 'manual', 'escalated') then
    perform public.refuse('bad_request', 'Unknown release reason.');
  end if;
  select * into v_conversation from public.conversations where id = p_conversation_id for update;
  if not found or not (
       auth.role() = 'service_role'
       or v_conversation.assigned_operator_id = auth.uid()
       or public.has_site_role(v_conversation.site_id, array['owner', 'admin'])) then
    perform public.refuse('forbidden', 'You cannot release this conversation.');
  end if;
  if v_conversation.status <> 'active' then
    perform public.refuse('not_assigned', 'This conversation is not assigned to anyone.');
  end if;
  update public.conversation_participants set left_at = now()
  where conversation_id = p_conversation_id and user_id = v_conversation.assigned_operator_id;
  return to_jsonb(public.requeue(p_conversation_id, p_reason, now()));
end;
$$;

-- Release every assignment whose operator has been silent for p_idle_minutes while the
-- customer waits for an answer. Returns how many were released. Run by the cleanup cron.
create or replace function public.detect_idle_assignments(p_idle_minutes integer default 5, p_now timestamptz default now())
returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  v_assignment record;
  v_released integer := 0;
begin
  for v_assignment in
    select a.conversation_id, a.operator_id, a.site_id
    from public.conversation_assignments a
    join public.conversations c on c.id = a.conversation_id
    where a.released_at is null
      and a.last_activity_at < p_now - make_interval(mins => p_idle_minutes)
      and c.last_customer_message_at > a.last_activity_at
    for update of a skip locked
  loop
    perform public.requeue(v_assignment.conversation_id, 'idle', p_now);
    insert into public.operator_daily_stats (site_id, user_id, day, idle_incidents)
    values (v_assignment.site_id, v_assignment.operator_id, (p_now at time zone 'UTC')::date, 1)
    on conflict (site_id, user_id, day) do update
      set idle_incidents = public.operator_daily_stats.idle_incidents + 1;
    v_released := v_released + 1;
  end loop;
  return v_released;
end;
$$;

-- Escalate a conversation up the ladder: record it, raise the level, return it to the queue
-- for operators of that level, and notify them.
create or replace function public.escalate_conversation(
  p_conversation_id uuid, p_to_level text, p_reason text, p_priority integer default 3
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_escalation public.escalations%rowtype;
begin
  select * into v_conversation from public.conversations where id = p_conversation_id for update;
  if not found or not public.has_site_role(v_conversation.site_id, array['owner', 'admin', 'operator']) then
    perform public.refuse('forbidden', 'You cannot escalate this conversation.');
  end if;
  if coalesce(public.support_level_rank(p_to_level), 0) <= public.support_level_rank(v_conversation.escalation_level) then
    perform public.refuse('bad_request', 'Escalate to a higher level than the current one.');
  end if;
  insert into public.escalations (site_id, conversation_id, from_level, to_level, reason, priority, created_by)
  values (v_conversation.site_id, p_conversation_id, v_conversation.escalation_level, p_to_level, p_reason, p_priority, auth.uid())
  returning * into v_escalation;
  if v_conversation.status = 'active' then
    update public.conversation_assignments set released_at = now(), release_reason = 'escalated'
    where conversation_id = p_conversation_id and released_at is null;
  end if;
  update public.conversations
  set escalation_level = p_to_level,
      status = case when status = 'closed' then status else 'waiting' end,
      assigned_operator_id = null, assigned_at = null,
      priority = case when p_priority <= 2 then 'high' else priority end
  where id = p_conversation_id;
  insert into public.operator_notifications (site_id, user_id, conversation_id, type, title, body)
  select v_conversation.site_id, m.user_id, p_conversation_id, 'escalation',
         'Conversation escalated to ' || upper(p_to_level), p_reason
  from public.site_members m
  where m.site_id = v_conversation.site_id and m.role in ('owner', 'admin', 'operator')
    and public.support_level_rank(m.support_level) >= public.support_level_rank(p_to_level);
  return to_jsonb(v_escalation);
end;
$$;

-- Analytics of a site's temporary links over the last p_days_back days (000). Invoker: the
-- caller sees only what RLS lets it see, so a non-member gets zeros.
create or replace function public.link_analytics(p_site_id uuid, p_agent_id uuid default null, p_days_back integer default 30)
returns jsonb
language sql stable
set search_path = ''
as $$
  with links as (
    select * from public.chat_links
    where site_id = p_site_id and (p_agent_id is null or agent_id = p_agent_id)
  ),
  sessions as (
    select s.* from public.chat_sessions s join links l on l.id = s.link_id
    where s.started_at >= now() - make_interval(days => least(greatest(p_days_back, 1), 365))
  )
  select jsonb_build_object(
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

-- One operator's performance over the last p_days days (004). Invoker, like link_analytics.
create or replace function public.operator_stats(p_site_id uuid, p_user_id uuid default null, p_days integer default 7)
returns jsonb
language sql stable
set search_path = ''
as $$
  with days as (
    select * from public.operator_daily_stats
    where site_id = p_site_id and user_id = coalesce(p_user_id, (select auth.uid()))
      and day > (now() at time zone 'UTC')::date - least(greatest(p_days, 1), 365)
  )
  select jsonb_build_object(
    'messages_sent', coalesce((select sum(messages_sent) from days), 0),
    'conversations_handled', coalesce((select sum(conversations_handled) from days), 0),
    'idle_incidents', coalesce((select sum(idle_incidents) from days), 0),
    'avg_response_seconds', (select round(avg(avg_response_seconds)) from days where avg_response_seconds is not null),
    'daily', coalesce((select jsonb_agg(to_jsonb(d) - 'site_id' - 'user_id' order by d.day) from days d), '[]'::jsonb)
  )
$$;

revoke execute on function
  public.take_next_conversation(uuid), public.release_conversation(uuid, text),
  public.detect_idle_assignments(integer, timestamptz), public.escalate_conversation(uuid, text, text, integer),
  public.link_analytics(uuid, uuid, integer), public.operator_stats(uuid, uuid, integer)
from public, anon, authenticated;
grant execute on function
  public.take_next_conversation(uuid), public.release_conversation(uuid, text),
  public.escalate_conversation(uuid, text, text, integer),
  public.link_analytics(uuid, uuid, integer), public.operator_stats(uuid, uuid, integer)
to authenticated, service_role;
grant execute on function public.detect_idle_assignments(integer, timestamptz) to service_role;
