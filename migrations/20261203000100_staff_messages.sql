-- Staff write through one function, exactly once per client_msg_id, as guests do through
-- post_message: the console's outbox retries a reply or a note with the same id until it is
-- confirmed, and a retry answers with the stored row instead of a second message. Owners,
-- admins and operators of the site may write (a viewer reads only); a reply to a closed
-- conversation is refused (reopen it first), a note is not. Lock order as everywhere: the
-- conversation first (staff_conversation), then what the message insert touches.
-- Affects: post_staff_message (new).

create function public.post_staff_message(
  p_conversation_id uuid,
  p_client_msg_id uuid,
  p_content text,
  p_internal boolean default false
) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_message public.messages%rowtype;
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if p_client_msg_id is null then
    perform public.refuse('validation_failed', 'A message needs its client_msg_id.');
  end if;

  select * into v_message from public.messages
  where conversation_id = p_conversation_id and client_msg_id = p_client_msg_id;
  if found then
    if v_message.content is distinct from p_content or v_message.internal is distinct from coalesce(p_internal, false)
       or v_message.sender_user_id is distinct from auth.uid() then
      perform public.refuse('idempotency_conflict', 'This message id was already used for another message.');
    end if;
    return to_jsonb(v_message) || jsonb_build_object('created', false);
  end if;

  if p_content is null or char_length(btrim(p_content)) = 0 or char_length(p_content) > 5000 then
    perform public.refuse('invalid_content', 'A message has 1 to 5000 characters.');
  end if;
  if v_conversation.status = 'closed' and not coalesce(p_internal, false) then
    perform public.refuse('conversation_closed', 'Reopen the conversation first.');
  end if;

  insert into public.messages (conversation_id, site_id, sender_type, sender_user_id, message_type, content,
                               metadata, internal, client_msg_id)
  values (p_conversation_id, v_conversation.site_id, 'operator', auth.uid(), 'text', p_content,
          '{}', coalesce(p_internal, false), p_client_msg_id)
  returning * into v_message;
  return to_jsonb(v_message) || jsonb_build_object('created', true);
end;
$$;
comment on function public.post_staff_message(uuid, uuid, text, boolean) is
  'Staff reply to a conversation or write an internal note: once per client_msg_id.';
revoke execute on function public.post_staff_message(uuid, uuid, text, boolean) from public, anon;
grant execute on function public.post_staff_message(uuid, uuid, text, boolean) to authenticated, service_role;
