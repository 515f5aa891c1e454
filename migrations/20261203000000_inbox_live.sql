-- The inbox is never stale. Every change of a conversation that an inbox list shows (a new
-- conversation, a message, a state change, an assignment, priority, tags) is announced on the
-- site's topic, which only the site's members read (policy "site topic: members read, guests
-- see presence"), as a broadcast `conversation` carrying the conversation's id and what lists
-- sort and filter by. The console refetches its page on such news, and after every (re)join, so
-- a broadcast missed while disconnected costs one refetch, never a stale list.

create function public.broadcast_conversation() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform realtime.send(
    jsonb_build_object(
      'id', new.id, 'status', new.status, 'assigned_operator_id', new.assigned_operator_id,
      'last_message_at', new.last_message_at),
    'conversation', 'site:' || new.site_id::text, true);
  return null;
end;
$$;
comment on function public.broadcast_conversation() is
  'Announces a changed conversation to its site''s members (site topic, event conversation).';
revoke execute on function public.broadcast_conversation() from public, anon, authenticated;

create trigger conversations_broadcast
  after insert or update of status, assigned_operator_id, last_message_at, priority, snoozed_until, tags,
    subject, escalation_level
  on public.conversations
  for each row execute function public.broadcast_conversation();
