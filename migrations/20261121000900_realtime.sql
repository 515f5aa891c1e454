-- Realtime: who may use which private topic, and what the database broadcasts.
--
-- Topics (clients join `realtime:<topic>` with `config.private = true`):
-- - `conversation:<conversation id>`: the conversation's guest and its site's members read and
--   write (typing broadcasts, presence); new and edited messages arrive here from the database.
-- - `site:<site id>`: the site's members read and write (operator presence, conversation events
--   from the database); the site's guests may only read presence (is an operator online?).
-- Hosted Realtime checks these policies by probing realtime.messages as the joining user; the
-- local server in devstack does the same.

-- The id in a topic `<prefix>:<uuid>`, or null when the topic is not one (never raises).
create or replace function public.realtime_topic_id(p_prefix text) returns uuid
language sql stable
set search_path = ''
as $$
  select case
    when t like p_prefix || ':%'
     and substr(t, char_length(p_prefix) + 2) ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
    then substr(t, char_length(p_prefix) + 2)::uuid
  end
  from (select (select realtime.topic()) as t) topic
$$;
comment on function public.realtime_topic_id(text) is 'The uuid of the Realtime topic being authorized when it is `<prefix>:<uuid>`, else null.';
grant execute on function public.realtime_topic_id(text) to anon, authenticated, service_role;

-- May the caller use the conversation topic being authorized? Its guest, or a member of its site.
create or replace function public.may_use_conversation_topic() returns boolean
language sql stable security definer
set search_path = ''
as $$
  select coalesce((
    select c.id = (select public.guest_conversation_id())
        or c.site_id = any ((select public.member_site_ids())::uuid[])
    from public.conversations c
    where c.id = (select public.realtime_topic_id('conversation'))
  ), false)
$$;
revoke execute on function public.may_use_conversation_topic() from public, anon;
grant execute on function public.may_use_conversation_topic() to authenticated, service_role;

create policy "conversation topic: guest and site members read" on realtime.messages
  for select to authenticated
  using (extension in ('broadcast', 'presence') and (select public.may_use_conversation_topic()));
create policy "conversation topic: guest and site members write" on realtime.messages
  for insert to authenticated
  with check (extension in ('broadcast', 'presence') and (select public.may_use_conversation_topic()));

create policy "site topic: members read, guests see presence" on realtime.messages
  for select to authenticated
  using (
    (select public.realtime_topic_id('site')) = any ((select public.member_site_ids())::uuid[])
    or (extension = 'presence' and (select public.realtime_topic_id('site')) = (select public.guest_site_id()))
  );
create policy "site topic: members write" on realtime.messages
  for insert to authenticated
  with check (
    extension in ('broadcast', 'presence')
    and (select public.realtime_topic_id('site')) = any ((select public.member_site_ids())::uuid[])
  );

-- New and edited messages to the conversation topic through realtime.broadcast_changes, as a
-- row of the columns the API shows (guests must not see the rest); a deleted message arrives
-- with its content removed.
create type public.message_broadcast as (
  id uuid, seq bigint, conversation_id uuid, sender_type text, message_type text, content text,
  metadata jsonb, client_msg_id uuid, reply_to_id uuid, created_at timestamptz,
  edited_at timestamptz, deleted_at timestamptz
);

create or replace function public.broadcast_message() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_deleted boolean := new.deleted_at is not null;
  v_row public.message_broadcast := row(
    new.id, new.seq, new.conversation_id, new.sender_type, new.message_type,
    case when v_deleted then '' else new.content end,
    case when v_deleted then '{}'::jsonb else new.metadata end,
    new.client_msg_id, new.reply_to_id, new.created_at, new.edited_at, new.deleted_at);
begin
  perform realtime.broadcast_changes(
    'conversation:' || new.conversation_id::text, tg_op, tg_op, tg_table_name, tg_table_schema, v_row, null);
  return null;
end;
$$;
revoke execute on function public.broadcast_message() from public, anon, authenticated;
create trigger broadcast_message after insert or update of content, deleted_at, edited_at, read_at on public.messages
  for each row execute function public.broadcast_message();

-- New, assigned, escalated and closed conversations to the site topic (operators' inboxes).
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
      'created_at', new.created_at, 'updated_at', new.updated_at)),
    case tg_op when 'INSERT' then 'conversation_created' else 'conversation_updated' end,
    'site:' || new.site_id::text, true);
  return null;
end;
$$;
revoke execute on function public.broadcast_conversation() from public, anon, authenticated;
create trigger broadcast_conversation_created after insert on public.conversations
  for each row execute function public.broadcast_conversation();
create trigger broadcast_conversation_updated after update on public.conversations
  for each row
  when (old.status is distinct from new.status
        or old.assigned_operator_id is distinct from new.assigned_operator_id
        or old.escalation_level is distinct from new.escalation_level
        or old.priority is distinct from new.priority)
  execute function public.broadcast_conversation();

-- postgres_changes for the console (operators), RLS applied per subscriber.
alter publication supabase_realtime add table public.messages, public.conversations;
