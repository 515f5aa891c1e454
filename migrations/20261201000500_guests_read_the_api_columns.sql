-- Guests read what the API shows, nothing more. A guest token reached its own rows of the base
-- tables through /rest/v1, every column included: an operator message's sender_user_id and
-- ai_model, the conversation's assignment, tags, priority and review flag, its own customer
-- row with the staff's profile notes, the session's IP address. Row Level Security cannot
-- hide columns, and guests share the `authenticated` role with staff, so column privileges
-- cannot either. Guests now have no policy on any base table; they read their conversation's
-- messages through guest_messages, with exactly the columns of the API's Message, deleted
-- messages left out, and of the metadata only what the API shows guests (`kind`,
-- `article_title`; other keys stay with the site). The Realtime broadcast of a message to its
-- conversation topic, which the guest hears, carries the same metadata from now on.
-- Affects: the guest select policies of chat_sessions, conversation_participants,
-- conversations, credit_ledger, customers, knowledge_articles, message_attachments, messages;
-- guest_metadata(jsonb); the view guest_messages; broadcast_message().

drop policy "Guests can see their session" on public.chat_sessions;
drop policy "Guests can see their conversation's participants" on public.conversation_participants;
drop policy "Guests can see their conversation" on public.conversations;
drop policy "Guests can see their own credits" on public.credit_ledger;
drop policy "Guests can see themselves" on public.customers;
drop policy "Guests can see their site's published articles" on public.knowledge_articles;
drop policy "Guests can see their conversation's attachments" on public.message_attachments;
drop policy "Guests can see their conversation's messages" on public.messages;

create function public.guest_metadata(p_metadata jsonb) returns jsonb
language sql immutable
set search_path = ''
as $$ select jsonb_strip_nulls(jsonb_build_object('kind', p_metadata -> 'kind', 'article_title', p_metadata -> 'article_title')) $$;
comment on function public.guest_metadata(jsonb) is 'The part of a message''s metadata a guest may see (chat_core::api::MessageMetadata).';
grant execute on function public.guest_metadata(jsonb) to authenticated, service_role;

-- Runs with its owner's rights (the rows are chosen here, by the checked guest claims of
-- guest_conversation_id(); anybody else reads no row); security_barrier keeps a caller's
-- filters from running before that choice.
create view public.guest_messages with (security_barrier) as
  select m.id, m.seq, m.conversation_id, m.sender_type, m.message_type, m.content,
         public.guest_metadata(m.metadata) as metadata, m.client_msg_id, m.created_at, m.edited_at
  from public.messages m
  where m.conversation_id = (select public.guest_conversation_id()) and m.deleted_at is null;
comment on view public.guest_messages is
  'A guest''s conversation as the API shows it: the columns of the API''s Message, deleted messages left out.';
revoke all on public.guest_messages from public, anon, authenticated;
grant select on public.guest_messages to authenticated, service_role;

create or replace function public.broadcast_message() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_deleted boolean := new.deleted_at is not null;
  v_row public.message_broadcast := row(
    new.id, new.seq, new.conversation_id, new.sender_type, new.message_type,
    case when v_deleted then '' else new.content end,
    case when v_deleted then '{}'::jsonb else public.guest_metadata(new.metadata) end,
    new.client_msg_id, new.reply_to_id, new.created_at, new.edited_at, new.deleted_at);
begin
  perform realtime.broadcast_changes(
    'conversation:' || new.conversation_id::text, tg_op, tg_op, tg_table_name, tg_table_schema, v_row, null);
  return null;
end;
$$;
