-- The conversation's life, one state machine (README "Conversation lifecycle"):
--
--   waiting  --assign_conversation / take_next_conversation-->            active
--   active   --release_conversation / transfer_conversation(null) /
--              idle operator / escalate_conversation-->                   waiting
--   active   --transfer_conversation(operator)-->                         active (another operator)
--   waiting, active --snooze_conversation(until)-->                       snoozed
--   snoozed  --the time passes (cleanup) / the customer writes-->         active if still held, else waiting
--   waiting, active, snoozed --close_conversation-->                      closed
--   closed   --reopen_conversation / the customer writes-->               waiting (active with the last
--                                                                         assignee when online with capacity)
--
-- Every transition is a function: atomic, idempotent when retried (the same call again returns
-- the same state), refusing an illegal one with a stable code. The API roles can no longer write
-- `status`, `closed_at` or the assignment columns directly: a close by a plain REST update left
-- the assignment open, the idle detection then put the closed conversation back in the queue,
-- which violated the table's CHECK and failed cleanup_expired() as a whole, every run.
--
-- Lock order (README "Lock order"): the conversation, then the operator's membership row (to
-- count capacity), then assignments, then the session and its link.
--
-- Internal notes: a message with `internal` set is written by staff for staff. The customer never
-- sees one: `guest_messages` leaves notes out (the edge's GET /v1/messages reads it), and notes
-- are broadcast on the site topic (members only) instead of the conversation topic. A note is no
-- answer: it moves no counter, response time or idle clock.
--
-- Affects: messages (internal), guest_messages (read_at), message_broadcast (read_at), broadcast_message,
--          conversations (status 'snoozed', snoozed_until, closed_by; update grants),
--          requeue, detect_idle_assignments, count_new_message; new:
--          staff_conversation, assign_to, offer_to_last_assignee, assign_conversation,
--          transfer_conversation, snooze_conversation, close_conversation, reopen_conversation,
--          resolve_escalation.

alter table public.conversations drop constraint conversations_status_check;
alter table public.conversations add constraint conversations_status_check
  check (status in ('waiting', 'active', 'snoozed', 'closed'));
alter table public.conversations add column snoozed_until timestamptz;
alter table public.conversations add column closed_by uuid references auth.users (id) on delete set null;
alter table public.conversations add constraint conversations_snooze_check
  check (status = 'snoozed' or snoozed_until is null);
create index conversations_snoozed_idx on public.conversations (snoozed_until) where status = 'snoozed';
comment on column public.conversations.snoozed_until is 'When a snoozed conversation wakes; null: at the customer''s next message.';
comment on column public.conversations.closed_by is 'Who closed the conversation (null: the system, or the user was deleted).';

alter table public.messages add column internal boolean not null default false;
alter table public.messages add constraint messages_internal_check check (not internal or sender_type = 'operator');
comment on column public.messages.internal is
  'A note for staff only: never in guest_messages, broadcast on the site topic instead of the conversation''s.';

-- read_at travels with the guest's view and the broadcasts: the widget shows "Seen" (read
-- state in the next migration).
alter type public.message_broadcast add attribute read_at timestamptz;
create or replace view public.guest_messages with (security_barrier) as
  select m.id, m.seq, m.conversation_id, m.sender_type, m.message_type, m.content,
         public.guest_metadata(m.metadata) as metadata, m.client_msg_id, m.created_at, m.edited_at, m.read_at
  from public.messages m
  where m.conversation_id = (select public.guest_conversation_id()) and m.deleted_at is null and not m.internal;

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
    new.client_msg_id, new.reply_to_id, new.created_at, new.edited_at, new.deleted_at, new.read_at);
begin
  if new.internal then
    perform realtime.broadcast_changes(
      'site:' || new.site_id::text, 'NOTE_' || tg_op, tg_op, tg_table_name, tg_table_schema, v_row, null);
  else
    perform realtime.broadcast_changes(
      'conversation:' || new.conversation_id::text, tg_op, tg_op, tg_table_name, tg_table_schema, v_row, null);
  end if;
  return null;
end;
$$;

-- Only the transition functions change the state.
revoke update on public.conversations from anon, authenticated;
grant update (priority, subject, tags, metadata) on public.conversations to authenticated;

-- The conversation `p_conversation_id`, locked, for a staff member of its site (owner, admin,
-- operator) or the service role. Anyone else learns nothing: conversation_not_found.
create function public.staff_conversation(p_conversation_id uuid) returns public.conversations
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  select * into v_conversation from public.conversations where id = p_conversation_id for update;
  if not found or not (auth.role() = 'service_role'
                       or public.has_site_role(v_conversation.site_id, array['owner', 'admin', 'operator'])) then
    perform public.refuse('conversation_not_found', 'There is no such conversation on your sites.');
  end if;
  return v_conversation;
end;
$$;
revoke execute on function public.staff_conversation(uuid) from public, anon, authenticated;

-- Give the locked conversation `p_conversation` to `p_operator`: a staff member of its site,
-- online, below capacity (their membership row is locked while counting, so two assignments
-- never both take the last seat). An open assignment of someone else is released as a transfer.
create function public.assign_to(p_conversation public.conversations, p_operator uuid, p_now timestamptz)
returns public.conversations
language plpgsql
set search_path = ''
as $$
declare
  v_member public.site_members%rowtype;
  v_open integer;
  v_conversation public.conversations%rowtype;
begin
  select * into v_member from public.site_members
  where site_id = p_conversation.site_id and user_id = p_operator and role in ('owner', 'admin', 'operator')
  for update;
  if not found then
    perform public.refuse('operator_not_member', 'That person does not answer chats on this site.');
  end if;
  if v_member.availability <> 'online' then
    perform public.refuse('operator_unavailable', 'That operator is not online.');
  end if;
  select count(*) into v_open from public.conversation_assignments
  where site_id = p_conversation.site_id and operator_id = p_operator and released_at is null
    and conversation_id <> p_conversation.id;
  if v_open >= v_member.max_concurrent_chats then
    perform public.refuse('operator_at_capacity', 'That operator already holds as many conversations as they may.');
  end if;
  update public.conversation_assignments set released_at = p_now, release_reason = 'transfer'
  where conversation_id = p_conversation.id and released_at is null and operator_id <> p_operator;
  if not exists (select 1 from public.conversation_assignments
                 where conversation_id = p_conversation.id and released_at is null) then
    insert into public.conversation_assignments (site_id, conversation_id, operator_id, assigned_at, last_activity_at)
    values (p_conversation.site_id, p_conversation.id, p_operator, p_now, p_now);
  end if;
  update public.conversations
  set status = 'active', assigned_operator_id = p_operator, assigned_at = p_now, snoozed_until = null,
      reassignment_count = reassignment_count
        + case when p_conversation.assigned_operator_id is not null
                    and p_conversation.assigned_operator_id <> p_operator then 1 else 0 end
  where id = p_conversation.id
  returning * into v_conversation;
  insert into public.conversation_participants (conversation_id, site_id, user_id, role)
  values (p_conversation.id, p_conversation.site_id, p_operator, 'operator')
  on conflict (conversation_id, user_id) where user_id is not null do update set left_at = null;
  return v_conversation;
end;
$$;
revoke execute on function public.assign_to(public.conversations, uuid, timestamptz) from public, anon, authenticated;

-- A reopened conversation goes first to whoever held it last, when they are online and have a
-- free seat; otherwise it waits in the queue. The conversation must be locked and not closed.
create function public.offer_to_last_assignee(p_conversation public.conversations, p_now timestamptz)
returns public.conversations
language plpgsql
set search_path = ''
as $$
declare
  v_last uuid;
begin
  select operator_id into v_last from public.conversation_assignments
  where conversation_id = p_conversation.id order by assigned_at desc limit 1;
  if v_last is not null then
    begin
      return public.assign_to(p_conversation, v_last, p_now);
    exception when raise_exception then
      -- Offline, at capacity, or no longer a member: the queue takes it.
      null;
    end;
  end if;
  return p_conversation;
end;
$$;
revoke execute on function public.offer_to_last_assignee(public.conversations, timestamptz) from public, anon, authenticated;

-- Put an assigned conversation back in the queue: close its open assignment with the reason,
-- count the reassignment, flag it for review from the third one on. A closed conversation keeps
-- its state (only its assignment, if one was left open, is released).
create or replace function public.requeue(p_conversation_id uuid, p_reason text, p_at timestamptz)
returns public.conversations
language plpgsql
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  update public.conversation_assignments set released_at = p_at, release_reason = p_reason
  where conversation_id = p_conversation_id and released_at is null;
  update public.conversations
  set status = 'waiting', assigned_operator_id = null, assigned_at = null, snoozed_until = null,
      reassignment_count = reassignment_count + 1,
      needs_review = needs_review or reassignment_count + 1 >= 3
  where id = p_conversation_id and status <> 'closed'
  returning * into v_conversation;
  if not found then
    select * into v_conversation from public.conversations where id = p_conversation_id;
  end if;
  return v_conversation;
end;
$$;

-- Idle detection looks at conversations an operator is answering right now.
create or replace function public.detect_idle_assignments(p_idle_minutes integer default 5, p_now timestamptz default now())
returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  v_assignment record;
  v_released integer := 0;
begin
  for v_assignment in
    select a.conversation_id, a.operator_id, a.site_id
    from public.conversations c
    join public.conversation_assignments a on a.conversation_id = c.id and a.released_at is null
    where c.status = 'active'
      and a.last_activity_at < p_now - make_interval(mins => p_idle_minutes)
      and c.last_customer_message_at > a.last_activity_at
    for update of c skip locked
  loop
    perform public.requeue(v_assignment.conversation_id, 'idle', p_now);
    insert into public.operator_daily_stats (site_id, user_id, day, idle_incidents)
    values (v_assignment.site_id, v_assignment.operator_id, (p_now at time zone 'UTC')::date, 1)
    on conflict (site_id, user_id, day) do update
      set idle_incidents = public.operator_daily_stats.idle_incidents + 1;
    v_released := v_released + 1;
  end loop;
  return v_released;
end;
$$;

-- An owner or admin gives a conversation to a named operator.
create function public.assign_conversation(p_conversation_id uuid, p_operator_id uuid) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if auth.role() <> 'service_role' and not public.has_site_role(v_conversation.site_id, array['owner', 'admin']) then
    perform public.refuse('forbidden', 'Only owners and admins assign conversations; operators transfer theirs.');
  end if;
  if v_conversation.status = 'closed' then
    perform public.refuse('conversation_closed', 'Reopen the conversation first.');
  end if;
  if v_conversation.status = 'active' and v_conversation.assigned_operator_id = p_operator_id then
    return to_jsonb(v_conversation);
  end if;
  v_conversation := public.assign_to(v_conversation, p_operator_id, now());
  if p_operator_id is distinct from auth.uid() then
    insert into public.operator_notifications (site_id, user_id, conversation_id, type, title, body)
    values (v_conversation.site_id, p_operator_id, v_conversation.id, 'chat_assigned',
            'A conversation was assigned to you', coalesce(v_conversation.subject, ''));
  end if;
  return to_jsonb(v_conversation);
end;
$$;
comment on function public.assign_conversation(uuid, uuid) is
  'Owners and admins: give a conversation to an online operator of the site with a free seat.';

-- The operator holding a conversation (or an owner or admin) hands it to a named operator, or
-- back to the queue when p_operator_id is null; the note goes to the new holder.
create function public.transfer_conversation(p_conversation_id uuid, p_operator_id uuid default null, p_note text default null)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if v_conversation.status = 'closed' then
    perform public.refuse('conversation_closed', 'Reopen the conversation first.');
  end if;
  if char_length(p_note) > 2000 then
    perform public.refuse('bad_request', 'A transfer note has at most 2000 characters.');
  end if;
  if v_conversation.assigned_operator_id is null then
    if p_operator_id is null then
      return to_jsonb(v_conversation);
    end if;
    perform public.refuse('not_assigned', 'Nobody holds this conversation; assign it instead.');
  end if;
  if v_conversation.assigned_operator_id is distinct from auth.uid() and auth.role() <> 'service_role'
     and not public.has_site_role(v_conversation.site_id, array['owner', 'admin']) then
    perform public.refuse('not_assigned_to_you', 'Only the operator holding a conversation transfers it.');
  end if;
  if p_operator_id = v_conversation.assigned_operator_id then
    return to_jsonb(v_conversation);
  end if;
  if p_operator_id is null then
    update public.conversation_participants set left_at = now()
    where conversation_id = p_conversation_id and user_id = v_conversation.assigned_operator_id;
    return to_jsonb(public.requeue(p_conversation_id, 'transfer', now()));
  end if;
  v_conversation := public.assign_to(v_conversation, p_operator_id, now());
  insert into public.operator_notifications (site_id, user_id, conversation_id, type, title, body)
  values (v_conversation.site_id, p_operator_id, v_conversation.id, 'chat_transferred',
          'A conversation was transferred to you', coalesce(p_note, ''));
  return to_jsonb(v_conversation);
end;
$$;
comment on function public.transfer_conversation(uuid, uuid, text) is
  'The holder (or an owner or admin) hands a conversation to a named operator, or to the queue with null.';

-- Snooze until a time, or (p_until null) until the customer writes. The holder keeps it.
create function public.snooze_conversation(p_conversation_id uuid, p_until timestamptz default null) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if v_conversation.status = 'closed' then
    perform public.refuse('conversation_closed', 'A closed conversation cannot be snoozed.');
  end if;
  if p_until is not null and p_until <= now() then
    perform public.refuse('bad_request', 'Snooze until a time in the future.');
  end if;
  update public.conversations set status = 'snoozed', snoozed_until = p_until
  where id = p_conversation_id
  returning * into v_conversation;
  return to_jsonb(v_conversation);
end;
$$;
comment on function public.snooze_conversation(uuid, timestamptz) is
  'Staff: hide a conversation until a time, or until the customer writes (p_until null).';

-- Close: the open assignment ends with reason 'closed', the closer is recorded. Closing a closed
-- conversation changes nothing. The visitor's session stays open: a new message reopens it.
create function public.close_conversation(p_conversation_id uuid) returns jsonb
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
  where id = p_conversation_id
  returning * into v_conversation;
  return to_jsonb(v_conversation);
end;
$$;
comment on function public.close_conversation(uuid) is
  'Staff: close a conversation (its assignment ends with reason closed). Idempotent.';

-- Reopen a closed conversation into the queue (first offered to its last assignee).
-- Reopening an open conversation changes nothing.
create function public.reopen_conversation(p_conversation_id uuid) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if v_conversation.status <> 'closed' then
    return to_jsonb(v_conversation);
  end if;
  update public.conversations set status = 'waiting', closed_at = null, closed_by = null
  where id = p_conversation_id
  returning * into v_conversation;
  return to_jsonb(public.offer_to_last_assignee(v_conversation, now()));
end;
$$;
comment on function public.reopen_conversation(uuid) is
  'Staff: reopen a closed conversation into the queue, offered first to its last assignee. Idempotent.';

-- Resolve an escalation: staff of its level or above, or an owner or admin. Idempotent.
create function public.resolve_escalation(p_escalation_id uuid, p_notes text default null) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_escalation public.escalations%rowtype;
begin
  select * into v_escalation from public.escalations where id = p_escalation_id;
  if not found then
    perform public.refuse('not_found', 'There is no such escalation on your sites.');
  end if;
  -- Lock order: the conversation before the escalation.
  perform public.staff_conversation(v_escalation.conversation_id);
  select * into v_escalation from public.escalations where id = p_escalation_id for update;
  if v_escalation.status = 'resolved' then
    return to_jsonb(v_escalation);
  end if;
  if v_escalation.status = 'cancelled' then
    perform public.refuse('bad_request', 'A cancelled escalation cannot be resolved.');
  end if;
  if char_length(p_notes) > 2000 then
    perform public.refuse('bad_request', 'Resolution notes have at most 2000 characters.');
  end if;
  if auth.role() <> 'service_role'
     and not public.has_site_role(v_escalation.site_id, array['owner', 'admin'])
     and not exists (select 1 from public.site_members m
                     where m.site_id = v_escalation.site_id and m.user_id = auth.uid()
                       and public.support_level_rank(m.support_level) >= public.support_level_rank(v_escalation.to_level)) then
    perform public.refuse('forbidden', 'Only staff of the escalation''s level resolve it.');
  end if;
  update public.escalations
  set status = 'resolved', resolution_notes = p_notes, resolved_at = now(),
      assigned_to = coalesce(assigned_to, auth.uid())
  where id = p_escalation_id
  returning * into v_escalation;
  return to_jsonb(v_escalation);
end;
$$;
comment on function public.resolve_escalation(uuid, text) is
  'Staff of the escalation''s level (or owners and admins): mark it resolved with notes. Idempotent.';

revoke execute on function public.assign_conversation(uuid, uuid) from public, anon;
revoke execute on function public.transfer_conversation(uuid, uuid, text) from public, anon;
revoke execute on function public.snooze_conversation(uuid, timestamptz) from public, anon;
revoke execute on function public.close_conversation(uuid) from public, anon;
revoke execute on function public.reopen_conversation(uuid) from public, anon;
revoke execute on function public.resolve_escalation(uuid, text) from public, anon;
grant execute on function public.assign_conversation(uuid, uuid) to authenticated, service_role;
grant execute on function public.transfer_conversation(uuid, uuid, text) to authenticated, service_role;
grant execute on function public.snooze_conversation(uuid, timestamptz) to authenticated, service_role;
grant execute on function public.close_conversation(uuid) to authenticated, service_role;
grant execute on function public.reopen_conversation(uuid) to authenticated, service_role;
grant execute on function public.resolve_escalation(uuid, text) to authenticated, service_role;

-- Counters and response times per message, as before; and now the customer's message wakes a
-- snoozed conversation and reopens a closed one (the visitor is heard after a close).
create or replace function public.count_new_message() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_response_seconds integer;
begin
  if new.internal then
    return null;
  end if;
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
  where id = new.conversation_id
  returning * into v_conversation;

  if new.sender_type = 'customer' and v_conversation.status = 'snoozed' then
    update public.conversations
    set status = case when assigned_operator_id is null then 'waiting' else 'active' end, snoozed_until = null
    where id = new.conversation_id;
  elsif new.sender_type = 'customer' and v_conversation.status = 'closed' then
    update public.conversations set status = 'waiting', closed_at = null, closed_by = null
    where id = new.conversation_id
    returning * into v_conversation;
    perform public.offer_to_last_assignee(v_conversation, new.created_at);
  end if;

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
