-- The inbox is never stale. `conversation_updated` (site topic, members only; see
-- 20261121000900_realtime.sql) was sent on changes of state, assignee, escalation and priority
-- only, so a visitor's new message never moved a conversation up or counted as unread in an
-- open list. It is now sent on every change an inbox shows: also the latest message, snooze,
-- tags and subject, and the record carries `last_message_at`. The console refetches its page
-- on each, and after every (re)join, so a broadcast missed while disconnected costs a refetch.

create or replace function public.broadcast_conversation() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object('operation', tg_op, 'record', jsonb_build_object(
      'id', new.id, 'site_id', new.site_id, 'status', new.status, 'source', new.source,
      'priority', new.priority, 'assigned_operator_id', new.assigned_operator_id,
      'escalation_level', new.escalation_level, 'needs_review', new.needs_review,
      'last_message_at', new.last_message_at, 'created_at', new.created_at, 'updated_at', new.updated_at)),
    case tg_op when 'INSERT' then 'conversation_created' else 'conversation_updated' end,
    'site:' || new.site_id::text, true);
  return null;
end;
$$;
comment on function public.broadcast_conversation() is
  'Announces a new or changed conversation to its site''s members (site topic): what inbox lists show.';

drop trigger broadcast_conversation_updated on public.conversations;
create trigger broadcast_conversation_updated after update on public.conversations
  for each row
  when (old.status is distinct from new.status
        or old.assigned_operator_id is distinct from new.assigned_operator_id
        or old.escalation_level is distinct from new.escalation_level
        or old.priority is distinct from new.priority
        or old.last_message_at is distinct from new.last_message_at
        or old.snoozed_until is distinct from new.snoozed_until
        or old.tags is distinct from new.tags
        or old.subject is distinct from new.subject)
  execute function public.broadcast_conversation();
