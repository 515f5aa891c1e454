-- Chat behaviour in SQL: starting and resuming sessions, opening link sessions, posting
-- messages, ending sessions; and the triggers that keep counters and the audit trail.
-- Refusals raise SQLSTATE P0001 with a stable code as the message (the edge maps it to its
-- API error) and a sentence for people in the detail.
-- Affects: start_widget_session, open_link_session, post_message, end_session,
--          messages triggers (counters, audit).

-- Raise a refusal: `code` is stable (see chat_core::ErrorCode), `detail` is for people.
create or replace function public.refuse(code text, detail text, hint text default null) returns void
language plpgsql
set search_path = ''
as $$
begin
  raise exception using errcode = 'P0001', message = code, detail = detail, hint = coalesce(hint, '');
end;
$$;
revoke execute on function public.refuse(text, text, text) from public, anon, authenticated;

-- Refuse unless the session may still be used: not ended, not idle past its timeout.
create or replace function public.refuse_unless_open(p_session public.chat_sessions, p_now timestamptz) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_session.status = 'ended' then
    perform public.refuse('session_ended', 'This chat has ended.', p_session.end_reason);
  end if;
  if p_session.last_activity_at + make_interval(mins => p_session.timeout_minutes) <= p_now then
    perform public.refuse('session_expired', 'This chat ended after a period of inactivity.');
  end if;
end;
$$;
revoke execute on function public.refuse_unless_open(public.chat_sessions, timestamptz) from public, anon, authenticated;

-- Start a widget session for a visitor, or resume the one whose token hash is given if it is
-- still active and within its timeout. Called by the edge (service role): it validated the
-- pre-chat form, generated the token and passes only its SHA-256.
create or replace function public.start_widget_session(
  p_site_key text,
  p_token_hash text,
  p_resume_token_hash text default null,
  p_name text default null,
  p_email text default null,
  p_phone text default null,
  p_custom_fields jsonb default '{}',
  p_ip inet default null,
  p_user_agent text default null,
  p_referrer text default null,
  p_country text default null,
  p_now timestamptz default now(),
  p_origin text default null
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_site public.sites%rowtype;
  v_session public.chat_sessions%rowtype;
  v_customer_id uuid;
  v_conversation_id uuid;
begin
  select * into v_site from public.sites where site_key = p_site_key;
  if not found then
    perform public.refuse('site_not_found', 'No site has this site key.');
  end if;
  -- An empty list allows every origin; otherwise the page's origin must be listed.
  if cardinality(v_site.allowed_origins) > 0 and (p_origin is null or not p_origin = any (v_site.allowed_origins)) then
    perform public.refuse('origin_not_allowed', 'This website may not open chats for this site.');
  end if;

  if p_resume_token_hash is not null then
    select s.* into v_session
    from public.chat_session_tokens t join public.chat_sessions s on s.id = t.session_id
    where t.token_hash = p_resume_token_hash and s.site_id = v_site.id
    for update of s;
    if found and v_session.status = 'active'
       and v_session.last_activity_at + make_interval(mins => v_session.timeout_minutes) > p_now then
      update public.chat_sessions set last_activity_at = p_now where id = v_session.id;
      return jsonb_build_object('session_id', v_session.id, 'conversation_id', v_session.conversation_id,
                                'customer_id', v_session.customer_id, 'site_id', v_site.id, 'resumed', true);
    end if;
  end if;

  if p_email is not null then
    select id into v_customer_id from public.customers
    where site_id = v_site.id and lower(email) = lower(p_email);
  end if;
  if v_customer_id is null then
    insert into public.customers (site_id, name, email, phone, custom_fields, last_seen_at, is_online)
    values (v_site.id, p_name, p_email, case when p_phone is null then null else public.normalize_phone(p_phone) end,
            coalesce(p_custom_fields, '{}'), p_now, true)
    returning id into v_customer_id;
  else
    update public.customers
    set name = coalesce(p_name, name),
        phone = coalesce(case when p_phone is null then null else public.normalize_phone(p_phone) end, phone),
        custom_fields = custom_fields || coalesce(p_custom_fields, '{}'),
        last_seen_at = p_now, is_online = true
    where id = v_customer_id;
  end if;

  -- Widget conversations are greeted by the site's default agent (its oldest active one).
  insert into public.conversations (site_id, customer_id, agent_id, source, created_at)
  values (v_site.id, v_customer_id,
          (select a.id from public.agents a where a.site_id = v_site.id and a.is_active order by a.created_at, a.id limit 1),
          'widget', p_now)
  returning id into v_conversation_id;
  insert into public.conversation_participants (conversation_id, site_id, customer_id, role)
  values (v_conversation_id, v_site.id, v_customer_id, 'customer');
  insert into public.chat_sessions (site_id, conversation_id, customer_id, rate_limit_per_minute,
                                    ip_address, user_agent, referrer, country, started_at, last_activity_at)
  values (v_site.id, v_conversation_id, v_customer_id, v_site.default_rate_limit_per_minute,
          p_ip, p_user_agent, p_referrer, p_country, p_now, p_now)
  returning * into v_session;
  insert into public.chat_session_tokens (session_id, site_id, token_hash) values (v_session.id, v_site.id, p_token_hash);

  return jsonb_build_object('session_id', v_session.id, 'conversation_id', v_conversation_id,
                            'customer_id', v_customer_id, 'site_id', v_site.id, 'resumed', false);
end;
$$;

-- Open a session on a temporary link. Expiry, the active flag, the allowlists and
-- max_sessions are checked here; the session slot is taken by one conditional UPDATE, which
-- the row lock serializes, so concurrent opens can never exceed max_sessions.
create or replace function public.open_link_session(
  p_link_token_hash text,
  p_token_hash text,
  p_ip inet default null,
  p_origin_host text default null,
  p_user_agent text default null,
  p_referrer text default null,
  p_country text default null,
  p_now timestamptz default now()
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_link public.chat_links%rowtype;
  v_customer_id uuid;
  v_conversation_id uuid;
  v_session_id uuid;
begin
  select l.* into v_link
  from public.chat_link_tokens t join public.chat_links l on l.id = t.link_id
  where t.token_hash = p_link_token_hash;
  if not found then
    perform public.refuse('link_not_found', 'This chat link does not exist.');
  end if;
  if not v_link.is_active then
    perform public.refuse('link_inactive', 'This chat link has been switched off.');
  end if;
  if v_link.expires_at <= p_now then
    perform public.refuse('link_expired', 'This chat link has expired.');
  end if;
  if cardinality(v_link.allowed_ips) > 0 and (p_ip is null or not p_ip <<= any (v_link.allowed_ips)) then
    perform public.refuse('ip_not_allowed', 'This chat link cannot be opened from your network.');
  end if;
  if cardinality(v_link.allowed_domains) > 0 and (
       p_origin_host is null
       or not exists (select 1 from unnest(v_link.allowed_domains) d
                      where lower(p_origin_host) = lower(d) or lower(p_origin_host) like '%.' || lower(d))) then
    perform public.refuse('domain_not_allowed', 'This chat link cannot be opened from this website.');
  end if;

  update public.chat_links
  set session_count = session_count + 1, last_accessed_at = p_now
  where id = v_link.id and session_count < max_sessions and is_active and expires_at > p_now;
  if not found then
    perform public.refuse('link_full', 'This chat is full: the link has reached its number of sessions.');
  end if;

  insert into public.customers (site_id, last_seen_at, is_online) values (v_link.site_id, p_now, true)
  returning id into v_customer_id;
  insert into public.conversations (site_id, customer_id, agent_id, source, created_at)
  values (v_link.site_id, v_customer_id, v_link.agent_id, 'link', p_now)
  returning id into v_conversation_id;
  insert into public.conversation_participants (conversation_id, site_id, customer_id, role)
  values (v_conversation_id, v_link.site_id, v_customer_id, 'customer');
  insert into public.chat_sessions (site_id, conversation_id, customer_id, link_id, timeout_minutes, max_messages,
                                    rate_limit_per_minute, ip_address, user_agent, referrer, country,
                                    started_at, last_activity_at, rate_window_start)
  values (v_link.site_id, v_conversation_id, v_customer_id, v_link.id, v_link.session_timeout_minutes,
          v_link.max_messages_per_session, v_link.rate_limit_per_minute, p_ip, p_user_agent, p_referrer,
          p_country, p_now, p_now, p_now)
  returning id into v_session_id;
  insert into public.chat_session_tokens (session_id, site_id, token_hash) values (v_session_id, v_link.site_id, p_token_hash);

  return jsonb_build_object('session_id', v_session_id, 'conversation_id', v_conversation_id,
                            'customer_id', v_customer_id, 'site_id', v_link.site_id, 'link_id', v_link.id,
                            'agent_id', v_link.agent_id, 'title', v_link.title,
                            'welcome_message', v_link.welcome_message);
end;
$$;

-- The message row as the API returns it.
create or replace function public.message_json(m public.messages) returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'id', m.id, 'seq', m.seq, 'conversation_id', m.conversation_id, 'sender_type', m.sender_type,
    'message_type', m.message_type, 'content', m.content, 'metadata', m.metadata,
    'client_msg_id', m.client_msg_id, 'reply_to_id', m.reply_to_id, 'created_at', m.created_at,
    'edited_at', m.edited_at)
$$;

-- Post a visitor message as the guest the JWT names. Idempotent on client_msg_id: a retry
-- returns the stored message with "created": false. Enforces the session's state, timeout,
-- per-minute rate limit, message limit (the last allowed message ends the session with
-- end_reason = max_messages) and, where the site charges credits, the customer's balance.
create or replace function public.post_message(
  p_client_msg_id uuid,
  p_content text,
  p_message_type text default 'text',
  p_metadata jsonb default '{}'
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
  v_message public.messages%rowtype;
  v_credits integer;
  v_retry_after integer;
  v_now timestamptz := now();
begin
  if public.guest_session_id() is null then
    perform public.refuse('unauthorized', 'Only a guest session may post visitor messages.');
  end if;
  select * into v_session from public.chat_sessions
  where id = public.guest_session_id() and conversation_id = public.guest_conversation_id()
  for update;
  if not found then
    perform public.refuse('session_not_found', 'This chat session does not exist.');
  end if;

  select * into v_message from public.messages
  where conversation_id = v_session.conversation_id and client_msg_id = p_client_msg_id;
  if found then
    return public.message_json(v_message) || jsonb_build_object('created', false);
  end if;

  perform public.refuse_unless_open(v_session, v_now);
  if p_content is null or char_length(btrim(p_content)) = 0 or char_length(p_content) > 5000 then
    perform public.refuse('invalid_content', 'A message has 1 to 5000 characters.');
  end if;

  if v_session.rate_window_start <= v_now - interval '1 minute' then
    v_session.rate_window_start := v_now;
    v_session.rate_window_count := 0;
  end if;
  if v_session.rate_window_count >= v_session.rate_limit_per_minute then
    v_retry_after := greatest(1, ceil(extract(epoch from v_session.rate_window_start + interval '1 minute' - v_now))::integer);
    perform public.refuse('rate_limited', 'Too many messages; please wait a moment.', v_retry_after::text);
  end if;

  insert into public.messages (conversation_id, site_id, session_id, sender_type, sender_customer_id,
                               message_type, content, metadata, client_msg_id, created_at)
  values (v_session.conversation_id, v_session.site_id, v_session.id, 'customer', v_session.customer_id,
          coalesce(p_message_type, 'text'), p_content, coalesce(p_metadata, '{}'), p_client_msg_id, v_now)
  on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing
  returning * into v_message;
  if not found then
    -- A concurrent retry won the race; answer with its row.
    select * into v_message from public.messages
    where conversation_id = v_session.conversation_id and client_msg_id = p_client_msg_id;
    return public.message_json(v_message) || jsonb_build_object('created', false);
  end if;

  select credits_per_message into v_credits from public.sites where id = v_session.site_id;
  if v_credits > 0 then
    begin
      insert into public.credit_ledger (site_id, customer_id, amount, reason, message_id)
      values (v_session.site_id, v_session.customer_id, -v_credits, 'message', v_message.id);
    exception when check_violation then
      perform public.refuse('insufficient_credits', 'You have no credits left for this chat.');
    end;
  end if;

  update public.chat_sessions
  set message_count = message_count + 1,
      human_message_count = human_message_count + 1,
      last_activity_at = v_now,
      rate_window_start = v_session.rate_window_start,
      rate_window_count = v_session.rate_window_count + 1,
      status = case when max_messages is not null and message_count + 1 >= max_messages then 'ended' else status end,
      end_reason = case when max_messages is not null and message_count + 1 >= max_messages then 'max_messages' else end_reason end,
      ended_at = case when max_messages is not null and message_count + 1 >= max_messages then v_now else ended_at end
  where id = v_session.id;

  return public.message_json(v_message) || jsonb_build_object('created', true);
end;
$$;

-- The guest ends its session, optionally rating it.
create or replace function public.end_session(p_rating integer default null, p_feedback text default null)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
begin
  if p_rating is not null and p_rating not between 1 and 5 then
    perform public.refuse('invalid_rating', 'A rating is 1 to 5.');
  end if;
  if p_feedback is not null and char_length(p_feedback) > 1000 then
    perform public.refuse('invalid_feedback', 'Feedback has at most 1000 characters.');
  end if;
  update public.chat_sessions
  set status = 'ended', end_reason = coalesce(end_reason, 'visitor'), ended_at = coalesce(ended_at, now()),
      rating = coalesce(p_rating, rating), feedback = coalesce(p_feedback, feedback)
  where id = public.guest_session_id() and conversation_id = public.guest_conversation_id()
  returning * into v_session;
  if not found then
    perform public.refuse('session_not_found', 'This chat session does not exist.');
  end if;
  if p_rating is not null then
    update public.conversations set csat = p_rating where id = v_session.conversation_id;
  end if;
  return jsonb_build_object('session_id', v_session.id, 'status', v_session.status,
                            'end_reason', v_session.end_reason, 'rating', v_session.rating);
end;
$$;

-- Counters and timestamps after each new message: the conversation (count, unread, last
-- message, response times), the link, the open assignment and the operator's daily stats.
create or replace function public.count_new_message() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_response_seconds integer;
begin
  select * into v_conversation from public.conversations where id = new.conversation_id for update;
  if new.sender_type in ('operator', 'ai') and v_conversation.last_customer_message_at is not null
     and (v_conversation.last_message_at is null or v_conversation.last_message_at <= v_conversation.last_customer_message_at) then
    v_response_seconds := greatest(0, extract(epoch from new.created_at - v_conversation.last_customer_message_at))::integer;
  end if;
  update public.conversations
  set message_count = message_count + 1,
      last_message_at = greatest(coalesce(last_message_at, new.created_at), new.created_at),
      last_customer_message_at = case when new.sender_type = 'customer' then new.created_at else last_customer_message_at end,
      unread_count = case when new.sender_type = 'customer' then unread_count + 1 else 0 end,
      first_response_seconds = coalesce(first_response_seconds, v_response_seconds),
      avg_response_seconds = case when v_response_seconds is null then avg_response_seconds
        else ((coalesce(avg_response_seconds, 0)::bigint * response_count + v_response_seconds) / (response_count + 1))::integer end,
      response_count = response_count + case when v_response_seconds is null then 0 else 1 end
  where id = new.conversation_id;

  if new.sender_type = 'ai' and new.session_id is not null then
    update public.chat_sessions set ai_message_count = ai_message_count + 1 where id = new.session_id;
  end if;
  update public.chat_links l set message_count = l.message_count + 1
  from public.chat_sessions s where s.id = new.session_id and l.id = s.link_id;
  if new.sender_type = 'operator' then
    update public.conversation_assignments set last_activity_at = new.created_at
    where conversation_id = new.conversation_id and operator_id = new.sender_user_id and released_at is null;
    insert into public.operator_daily_stats (site_id, user_id, day, messages_sent)
    values (new.site_id, new.sender_user_id, (new.created_at at time zone 'UTC')::date, 1)
    on conflict (site_id, user_id, day) do update
      set messages_sent = public.operator_daily_stats.messages_sent + 1,
          avg_response_seconds = case when v_response_seconds is null then public.operator_daily_stats.avg_response_seconds
            else (coalesce(public.operator_daily_stats.avg_response_seconds, v_response_seconds) + v_response_seconds) / 2 end;
  end if;
  return null;
end;
$$;
create trigger messages_count_new after insert on public.messages
  for each row execute function public.count_new_message();

-- The audit trail: the content before every edit and every soft deletion (deleted_at).
-- Hard deletes are not recorded: they come only from retention purges and customer erasure,
-- where keeping a copy of the content would defeat the purpose.
create or replace function public.record_message_change() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if new.content is distinct from old.content or new.metadata is distinct from old.metadata
     or new.deleted_at is distinct from old.deleted_at then
    insert into public.message_history (message_id, site_id, operation, old_content, old_metadata, changed_by)
    values (old.id, old.site_id, case when new.deleted_at is not null and old.deleted_at is null then 'delete' else 'update' end,
            old.content, old.metadata, auth.uid());
    if new.content is distinct from old.content then
      new.edited_at := now();
    end if;
  end if;
  return new;
end;
$$;
create trigger messages_record_update before update on public.messages
  for each row execute function public.record_message_change();

revoke execute on function
  public.start_widget_session(text, text, text, text, text, text, jsonb, inet, text, text, text, timestamptz, text),
  public.open_link_session(text, text, inet, text, text, text, text, timestamptz),
  public.post_message(uuid, text, text, jsonb),
  public.end_session(integer, text),
  public.message_json(public.messages),
  public.count_new_message(),
  public.record_message_change()
from public, anon, authenticated;
grant execute on function
  public.start_widget_session(text, text, text, text, text, text, jsonb, inet, text, text, text, timestamptz, text),
  public.open_link_session(text, text, inet, text, text, text, text, timestamptz)
to service_role;
grant execute on function public.post_message(uuid, text, text, jsonb), public.end_session(integer, text)
to authenticated, service_role;
