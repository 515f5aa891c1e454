-- The operator's tools around a conversation: canned responses per site, read state (each
-- staff member's read cursor; the customer's messages marked read when staff read them), and
-- notifications delivered live on a private topic per operator, mentions in notes included.
-- Lock order as written in README: the conversation first (mark_conversation_read takes it
-- through staff_conversation), then participants, then messages.
-- Affects: canned_responses (new), conversation_participants (last_read_seq),
--          mark_conversation_read, broadcast_notification, notify_mentions (new), a policy on
--          realtime.messages for `operator:<user id>`.

-- Canned responses: a site's saved replies, inserted by shortcut (`/refund`). Members read them;
-- staff (owners, admins, operators) write them.
create table public.canned_responses (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  shortcut text not null check (shortcut ~ '^[a-z0-9][a-z0-9_-]{0,31}$'),
  content text not null check (char_length(content) between 1 and 5000),
  created_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (site_id, shortcut)
);
comment on table public.canned_responses is 'Saved replies of a site, found by shortcut.';
create trigger canned_responses_set_updated_at before update on public.canned_responses
  for each row execute function public.set_updated_at();
alter table public.canned_responses enable row level security;
create policy "Members can see canned responses" on public.canned_responses
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Staff can add canned responses" on public.canned_responses
  for insert to authenticated
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));
create policy "Staff can edit canned responses" on public.canned_responses
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));
create policy "Staff can delete canned responses" on public.canned_responses
  for delete to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));
revoke update on public.canned_responses from anon, authenticated;
grant update (shortcut, content) on public.canned_responses to authenticated;

-- Read state: each staff member's cursor in a conversation (conversation_participants.last_read_seq,
-- the inbox's unread counts per operator), and the customer's messages marked read_at when staff
-- read them, broadcast (with read_at) so the widget can show "Seen".
alter table public.conversation_participants add column last_read_seq bigint;
-- The calling staff member has read the conversation up to p_up_to_message_id (default: its
-- latest message). Idempotent: the cursor never moves back, read messages stay as they are.
create function public.mark_conversation_read(p_conversation_id uuid, p_up_to_message_id uuid default null)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_seq bigint;
  v_cursor bigint;
  v_marked integer;
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if auth.uid() is null then
    perform public.refuse('forbidden', 'Only a signed-in staff member reads conversations.');
  end if;
  if p_up_to_message_id is null then
    select max(seq) into v_seq from public.messages where conversation_id = p_conversation_id;
  else
    select seq into v_seq from public.messages where id = p_up_to_message_id and conversation_id = p_conversation_id;
    if not found then
      perform public.refuse('not_found', 'There is no such message in this conversation.');
    end if;
  end if;
  v_seq := coalesce(v_seq, 0);
  insert into public.conversation_participants (conversation_id, site_id, user_id, role, last_read_at, last_read_seq)
  values (p_conversation_id, v_conversation.site_id, auth.uid(), 'observer', now(), v_seq)
  on conflict (conversation_id, user_id) where user_id is not null do update
    set last_read_seq = greatest(coalesce(public.conversation_participants.last_read_seq, 0), excluded.last_read_seq),
        last_read_at = now()
  returning last_read_seq into v_cursor;
  update public.messages set read_at = now()
  where conversation_id = p_conversation_id and sender_type = 'customer' and seq <= v_seq
    and read_at is null and not internal;
  get diagnostics v_marked = row_count;
  return jsonb_build_object('conversation_id', p_conversation_id, 'last_read_seq', v_cursor, 'marked', v_marked);
end;
$$;
comment on function public.mark_conversation_read(uuid, uuid) is
  'Staff: move my read cursor in a conversation; the customer''s messages up to it get read_at (the widget''s "Seen").';
revoke execute on function public.mark_conversation_read(uuid, uuid) from public, anon;
grant execute on function public.mark_conversation_read(uuid, uuid) to authenticated, service_role;

-- Notifications, live: every new operator_notifications row is broadcast on the private topic
-- `operator:<user id>`, which only that user may read. Rows come from assignment and transfer
-- to me, escalation to my level (escalate_conversation), and mentions in internal notes: a note
-- whose metadata lists `mentions` (user ids) notifies those of them who are staff of its site.
create policy "operator topic: its user reads" on realtime.messages
  for select to authenticated
  using (extension = 'broadcast' and (select public.realtime_topic_id('operator')) = (select auth.uid()));

create function public.broadcast_notification() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform realtime.send(to_jsonb(new), 'notification', 'operator:' || new.user_id::text, true);
  return null;
end;
$$;
revoke execute on function public.broadcast_notification() from public, anon, authenticated;
create trigger operator_notifications_broadcast after insert on public.operator_notifications
  for each row execute function public.broadcast_notification();

create function public.notify_mentions() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into public.operator_notifications (site_id, user_id, conversation_id, type, title, body)
  select new.site_id, m.user_id, new.conversation_id, 'mention', 'You were mentioned in a note', left(new.content, 2000)
  from public.site_members m
  where m.site_id = new.site_id and m.role in ('owner', 'admin', 'operator')
    and m.user_id is distinct from new.sender_user_id
    and m.user_id::text in (select jsonb_array_elements_text(new.metadata -> 'mentions'));
  return null;
end;
$$;
revoke execute on function public.notify_mentions() from public, anon, authenticated;
create trigger messages_notify_mentions after insert on public.messages
  for each row when (new.internal and jsonb_typeof(new.metadata -> 'mentions') = 'array')
  execute function public.notify_mentions();
