-- Guests post plain visitor text, nothing else. post_message took a message type and metadata
-- from its caller, so a guest calling it through /rest/v1/rpc could store a 'system' message or
-- a fake knowledge answer's metadata, which the edge then served as genuine. Typed messages come
-- from the database's own functions and staff. A retry with a used client_msg_id and another
-- text is refused (idempotency_conflict) instead of answering with the old row and silently
-- dropping the new text. Lock order as before, now written once in lock_guest_session():
-- conversation, then session.
-- Affects: lock_guest_session() (new), post_message (now (client_msg_id, content)).

-- The session a checked guest token names, locked in the lock order: its conversation first
-- (as a message insert and its counters take them), then the session. Refuses callers that
-- are no guest (unauthorized) and sessions that are gone (session_not_found).
create function public.lock_guest_session() returns public.chat_sessions
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
begin
  if public.guest_session_id() is null then
    perform public.refuse('unauthorized', 'Only a guest session may do this.');
  end if;
  perform 1 from public.conversations where id = public.guest_conversation_id() for update;
  select * into v_session from public.chat_sessions where id = public.guest_session_id() for update;
  if not found then
    perform public.refuse('session_not_found', 'This chat session does not exist.');
  end if;
  return v_session;
end;
$$;
revoke execute on function public.lock_guest_session() from public, anon, authenticated;

drop function public.post_message(uuid, text, text, jsonb);
create function public.post_message(p_client_msg_id uuid, p_content text) returns jsonb
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
  v_session := public.lock_guest_session();

  select * into v_message from public.messages
  where conversation_id = v_session.conversation_id and client_msg_id = p_client_msg_id;
  if found then
    if v_message.content is distinct from p_content then
      perform public.refuse('idempotency_conflict', 'This message id was already used for another text.');
    end if;
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
          'text', p_content, '{}', p_client_msg_id, v_now)
  on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing
  returning * into v_message;
  if not found then
    -- A concurrent retry won the race; answer with its row.
    select * into v_message from public.messages
    where conversation_id = v_session.conversation_id and client_msg_id = p_client_msg_id;
    if v_message.content is distinct from p_content then
      perform public.refuse('idempotency_conflict', 'This message id was already used for another text.');
    end if;
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

comment on function public.post_message(uuid, text) is
  'A guest posts visitor text to its conversation: once per client_msg_id, within the session''s limits.';
revoke execute on function public.post_message(uuid, text) from public, anon;
grant execute on function public.post_message(uuid, text) to authenticated, service_role;
