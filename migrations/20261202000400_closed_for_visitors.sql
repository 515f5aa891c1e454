-- The visitor sees the close. Closing a conversation writes a system message into it
-- (metadata kind `conversation_closed`, which guests may read), so the widget learns of the close
-- the way it learns of everything else: live on the conversation's topic, or from the history.
-- The widget then offers the rating; the session goes on, and the visitor's next message
-- reopens the conversation (count_new_message).
-- Rating no longer needs the end of the session: rate_session() rates it once, as the guest.
-- end_session() keeps a rating given before (a rating is given once; the first one counts).
-- Lock order as everywhere: the conversation, then the session (lock_guest_session()).
-- Affects: close_conversation, end_session, rate_session, check_rating and record_rating (new,
--          the two share them).

create or replace function public.close_conversation(p_conversation_id uuid) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_now timestamptz := now();
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if v_conversation.status = 'closed' then
    return to_jsonb(v_conversation);
  end if;
  update public.conversation_assignments set released_at = v_now, release_reason = 'closed'
  where conversation_id = p_conversation_id and released_at is null;
  update public.conversation_participants set left_at = v_now
  where conversation_id = p_conversation_id and user_id is not null and left_at is null;
  update public.conversations
  set status = 'closed', closed_at = v_now, closed_by = auth.uid(),
      assigned_operator_id = null, assigned_at = null, snoozed_until = null
  where id = p_conversation_id;
  insert into public.messages (conversation_id, site_id, sender_type, message_type, content, metadata)
  values (p_conversation_id, v_conversation.site_id, 'system', 'system',
          'This conversation was closed. Write again any time and we will pick it up.',
          '{"kind": "conversation_closed"}');
  select * into v_conversation from public.conversations where id = p_conversation_id;
  return to_jsonb(v_conversation);
end;
$$;
comment on function public.close_conversation(uuid) is
  'Staff: close a conversation (its assignment ends with reason closed; the visitor is told). Idempotent.';

-- The rating's bounds, checked before any lock.
create function public.check_rating(p_rating integer, p_feedback text) returns void
language plpgsql
set search_path = ''
as $$
begin
  if p_rating is not null and p_rating not between 1 and 5 then
    perform public.refuse('invalid_rating', 'A rating is 1 to 5.');
  end if;
  if p_feedback is not null and char_length(p_feedback) > 1000 then
    perform public.refuse('invalid_feedback', 'Feedback has at most 1000 characters.');
  end if;
end;
$$;
comment on function public.check_rating(integer, text) is 'Refuses a rating outside 1 to 5 or feedback over 1000 characters.';
revoke execute on function public.check_rating(integer, text) from public, anon, authenticated;

-- The first rating of the locked session `p_session` (and its conversation's CSAT); a rated
-- session keeps its rating and feedback.
create function public.record_rating(p_session public.chat_sessions, p_rating integer, p_feedback text)
returns void
language plpgsql security definer
set search_path = ''
as $$
begin
  if p_session.rating is not null then
    return;
  end if;
  if p_rating is not null then
    update public.conversations set csat = p_rating where id = p_session.conversation_id;
  end if;
  update public.chat_sessions set rating = p_rating, feedback = p_feedback where id = p_session.id;
end;
$$;
comment on function public.record_rating(public.chat_sessions, integer, text) is
  'Records the first rating of a locked session and its conversation''s CSAT; later ones are ignored.';
revoke execute on function public.record_rating(public.chat_sessions, integer, text) from public, anon, authenticated;

create or replace function public.end_session(p_rating integer default null, p_feedback text default null)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
begin
  perform public.check_rating(p_rating, p_feedback);
  v_session := public.lock_guest_session();
  if v_session.status = 'ended' and (v_session.end_reason = 'visitor' or v_session.rating is not null) then
    perform public.refuse('session_ended', 'This chat has already ended.');
  end if;
  perform public.record_rating(v_session, p_rating, p_feedback);
  update public.chat_sessions
  set status = 'ended', end_reason = coalesce(end_reason, 'visitor'), ended_at = coalesce(ended_at, now())
  where id = v_session.id
  returning * into v_session;
  return jsonb_build_object('session_id', v_session.id, 'status', v_session.status,
                            'end_reason', v_session.end_reason, 'rating', v_session.rating);
end;
$$;

-- The guest rates the chat without ending it (after a close, say). Once per session. The
-- rating defaults to null so that a body without one is refused as invalid_rating.
create function public.rate_session(p_rating integer default null, p_feedback text default null) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
begin
  if p_rating is null then
    perform public.refuse('invalid_rating', 'A rating is 1 to 5.');
  end if;
  perform public.check_rating(p_rating, p_feedback);
  v_session := public.lock_guest_session();
  if v_session.rating is not null then
    perform public.refuse('already_rated', 'This chat was rated already. Thank you!');
  end if;
  perform public.record_rating(v_session, p_rating, p_feedback);
  select * into v_session from public.chat_sessions where id = v_session.id;
  return jsonb_build_object('session_id', v_session.id, 'status', v_session.status, 'rating', v_session.rating);
end;
$$;
comment on function public.rate_session(integer, text) is
  'The guest rates their chat (1 to 5, optional feedback) without ending it; once per session.';
revoke execute on function public.rate_session(integer, text) from public, anon;
grant execute on function public.rate_session(integer, text) to authenticated;
