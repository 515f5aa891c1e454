-- A session ends once. end_session answered every call, so a second call on an ended session
-- overwrote its rating and feedback. Now a session the visitor ended, or one already rated,
-- refuses another end (session_ended); a session that ended otherwise (inactivity, its
-- message limit, an operator) may still be rated once. Locks through lock_guest_session()
-- (conversation, then session); a caller that is no guest is refused as unauthorized.
-- Affects: end_session.

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
  v_session := public.lock_guest_session();
  if v_session.status = 'ended' and (v_session.end_reason = 'visitor' or v_session.rating is not null) then
    perform public.refuse('session_ended', 'This chat has already ended.');
  end if;
  update public.chat_sessions
  set status = 'ended', end_reason = coalesce(end_reason, 'visitor'), ended_at = coalesce(ended_at, now()),
      rating = p_rating, feedback = p_feedback
  where id = v_session.id
  returning * into v_session;
  if p_rating is not null then
    update public.conversations set csat = p_rating where id = v_session.conversation_id;
  end if;
  return jsonb_build_object('session_id', v_session.id, 'status', v_session.status,
                            'end_reason', v_session.end_reason, 'rating', v_session.rating);
end;
$$;
