-- Auto-assignment (widget_settings.auto_assignment): a waiting conversation goes to the online
-- operator of its level with the most free seats (ties: the one assigned longest ago), urgent
-- before high before medium before low, then oldest first. The queue drains whenever it can
-- move: a conversation enters it (new, released, transferred to the queue, reopened), an
-- operator comes online or gets more seats, an assignment ends. An operator who just let a
-- conversation go (idle, transfer, offline, manual, escalation) is not handed it back for ten
-- minutes.
--
-- Drains of one site are serialized by a transaction-scoped advisory lock, taken before any row:
-- a drain waits for the previous one to commit and so sees what it committed (a conversation
-- created or an operator set online by a concurrent transaction is never left behind), and
-- rows are then taken with SKIP LOCKED only, so a drain never waits on a row. Operators going
-- offline keep their conversations for widget_settings.offline_grace_minutes, then the cleanup
-- returns them to the queue with reason operator_offline.
--
-- Lock order (README): the site's drain lock, then the conversation, then the operator's
-- membership row, then assignments.
-- Affects: widget_settings (offline_grace_minutes), site_members (availability_changed_at),
--          priority_rank, drain_queue, drain_after_change, note_availability_change,
--          release_offline_operators (new), triggers on conversations, site_members and
--          conversation_assignments, cleanup_expired (each step in its own sub-transaction).

alter table public.widget_settings add column offline_grace_minutes integer not null default 5
  check (offline_grace_minutes between 0 and 1440);
comment on column public.widget_settings.offline_grace_minutes is
  'How long an operator who went offline keeps their conversations before they return to the queue.';
alter table public.site_members add column availability_changed_at timestamptz not null default now();

create function public.priority_rank(p_priority text) returns integer
language sql immutable
set search_path = ''
as $$ select array_position(array['low', 'medium', 'high', 'urgent'], p_priority) $$;

-- Hand out waiting conversations of the site while someone has a free seat. Returns how many.
create function public.drain_queue(p_site_id uuid, p_now timestamptz default now()) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_operator uuid;
  v_assigned integer := 0;
begin
  if not coalesce((select auto_assignment from public.widget_settings where site_id = p_site_id), false) then
    return 0;
  end if;
  perform pg_advisory_xact_lock(hashtextextended('drain_queue:' || p_site_id::text, 0));
  for v_conversation in
    select * from public.conversations
    where site_id = p_site_id and status = 'waiting'
    order by public.priority_rank(priority) desc, created_at
    for update skip locked
  loop
    select m.user_id into v_operator
    from public.site_members m
    cross join lateral (
      select count(*) as open, max(a.assigned_at) as last_assigned
      from public.conversation_assignments a
      where a.site_id = p_site_id and a.operator_id = m.user_id and a.released_at is null
    ) seats
    where m.site_id = p_site_id and m.role in ('owner', 'admin', 'operator') and m.availability = 'online'
      and public.support_level_rank(m.support_level) >= public.support_level_rank(v_conversation.escalation_level)
      and seats.open < m.max_concurrent_chats
      and not exists (
        select 1 from public.conversation_assignments r
        where r.conversation_id = v_conversation.id and r.operator_id = m.user_id
          and r.released_at > p_now - interval '10 minutes')
    order by m.max_concurrent_chats - seats.open desc, seats.last_assigned nulls first, m.user_id
    for update of m skip locked
    limit 1;
    if v_operator is not null then
      perform public.assign_to(v_conversation, v_operator, p_now);
      insert into public.operator_notifications (site_id, user_id, conversation_id, type, title, body)
      values (p_site_id, v_operator, v_conversation.id, 'chat_assigned', 'A conversation was assigned to you',
              coalesce(v_conversation.subject, ''));
      v_assigned := v_assigned + 1;
      v_operator := null;
    elsif not exists (
      select 1 from public.site_members m
      where m.site_id = p_site_id and m.role in ('owner', 'admin', 'operator') and m.availability = 'online'
        and (select count(*) from public.conversation_assignments a
             where a.site_id = p_site_id and a.operator_id = m.user_id and a.released_at is null) < m.max_concurrent_chats) then
      -- Nobody online has a free seat: the rest of the queue waits too.
      exit;
    end if;
  end loop;
  return v_assigned;
end;
$$;
revoke execute on function public.drain_queue(uuid, timestamptz) from public, anon, authenticated;

-- The triggers drain at commit (deferred): by then the transaction's own moves are done (a
-- reopened conversation already offered to its last operator), and the advisory lock is held
-- only for the drain itself.
create function public.drain_after_change() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform public.drain_queue(new.site_id);
  return null;
end;
$$;
revoke execute on function public.drain_after_change() from public, anon, authenticated;

create constraint trigger conversations_drain after insert or update of status on public.conversations
  deferrable initially deferred
  for each row when (new.status = 'waiting') execute function public.drain_after_change();
create constraint trigger site_members_drain after update of availability, max_concurrent_chats, support_level on public.site_members
  deferrable initially deferred
  for each row when (new.availability = 'online') execute function public.drain_after_change();
create constraint trigger conversation_assignments_drain after update of released_at on public.conversation_assignments
  deferrable initially deferred
  for each row when (new.released_at is not null) execute function public.drain_after_change();

-- When availability changes, for the grace period of going offline.
create function public.note_availability_change() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if new.availability is distinct from old.availability then
    new.availability_changed_at := now();
  end if;
  return new;
end;
$$;
revoke execute on function public.note_availability_change() from public, anon, authenticated;
create trigger site_members_availability_changed before update of availability on public.site_members
  for each row execute function public.note_availability_change();

-- Conversations of operators who went offline more than their site's grace period ago return to
-- the queue with reason operator_offline. Run by the cleanup. Returns how many.
create function public.release_offline_operators(p_now timestamptz default now()) returns integer
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation uuid;
  v_released integer := 0;
begin
  for v_conversation in
    select c.id
    from public.conversations c
    join public.site_members m on m.site_id = c.site_id and m.user_id = c.assigned_operator_id
    join public.widget_settings w on w.site_id = c.site_id
    where c.status = 'active' and m.availability = 'offline'
      and m.availability_changed_at <= p_now - make_interval(mins => w.offline_grace_minutes)
    for update of c skip locked
  loop
    update public.conversation_participants p set left_at = p_now
    from public.conversations c
    where c.id = v_conversation and p.conversation_id = c.id and p.user_id = c.assigned_operator_id;
    perform public.requeue(v_conversation, 'operator_offline', p_now);
    v_released := v_released + 1;
  end loop;
  return v_released;
end;
$$;
revoke execute on function public.release_offline_operators(timestamptz) from public, anon, authenticated;

-- The cleanup, each step in its own sub-transaction: a step that fails is rolled back alone,
-- reported in `errors` (and logged by the edge's cron), and the other steps still run. Closed
-- conversations never return to the queue (requeue and the idle detection leave them alone);
-- assignments they still hold are released; snoozes end; offline operators' conversations
-- return to the queue after the grace period.
create or replace function public.cleanup_expired(p_now timestamptz default now()) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_result jsonb := '{}';
  v_errors jsonb := '[]';
  v_count integer;
begin
  begin
    update public.chat_sessions s
    set status = 'ended', ended_at = p_now,
        end_reason = case when l.expires_at <= p_now then 'link_expired' else 'link_deactivated' end
    from public.chat_links l
    where s.link_id = l.id and s.status = 'active' and (not l.is_active or l.expires_at <= p_now);
    get diagnostics v_count = row_count;
    v_result := v_result || jsonb_build_object('link_sessions_ended', v_count);
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'link_sessions_ended', 'error', sqlerrm);
  end;

  begin
    update public.chat_links set is_active = false where is_active and expires_at <= p_now;
    get diagnostics v_count = row_count;
    v_result := v_result || jsonb_build_object('links_expired', v_count);
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'links_expired', 'error', sqlerrm);
  end;

  begin
    update public.chat_sessions
    set status = 'ended', ended_at = p_now, end_reason = 'timeout'
    where status = 'active' and last_activity_at + make_interval(mins => timeout_minutes) <= p_now;
    get diagnostics v_count = row_count;
    v_result := v_result || jsonb_build_object('idle_sessions_ended', v_count);
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'idle_sessions_ended', 'error', sqlerrm);
  end;

  begin
    update public.customers c set is_online = false
    where c.is_online
      and not exists (select 1 from public.chat_sessions s where s.customer_id = c.id and s.status = 'active');
    get diagnostics v_count = row_count;
    v_result := v_result || jsonb_build_object('customers_offline', v_count);
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'customers_offline', 'error', sqlerrm);
  end;

  begin
    -- Assignments a closed conversation still holds (left by direct updates before the state
    -- machine): released as closed, so nothing counts them against an operator's capacity.
    update public.conversation_assignments a set released_at = p_now, release_reason = 'closed'
    from public.conversations c
    where c.id = a.conversation_id and a.released_at is null and c.status = 'closed';
    get diagnostics v_count = row_count;
    v_result := v_result || jsonb_build_object('closed_assignments_released', v_count);
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'closed_assignments_released', 'error', sqlerrm);
  end;

  begin
    update public.conversations
    set status = case when assigned_operator_id is null then 'waiting' else 'active' end, snoozed_until = null
    where status = 'snoozed' and snoozed_until <= p_now;
    get diagnostics v_count = row_count;
    v_result := v_result || jsonb_build_object('snoozes_ended', v_count);
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'snoozes_ended', 'error', sqlerrm);
  end;

  begin
    v_result := v_result || jsonb_build_object('offline_operators_released', public.release_offline_operators(p_now));
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'offline_operators_released', 'error', sqlerrm);
  end;

  begin
    v_result := v_result || jsonb_build_object('assignments_released', public.detect_idle_assignments(5, p_now));
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'assignments_released', 'error', sqlerrm);
  end;

  begin
    -- Bounded per run so one call never holds locks for long; the next run continues.
    delete from public.messages m
    where m.id in (
      select m2.id from public.messages m2 join public.sites s on s.id = m2.site_id
      where m2.created_at < p_now - make_interval(days => s.retention_days)
      limit 10000
    );
    get diagnostics v_count = row_count;
    v_result := v_result || jsonb_build_object('messages_purged', v_count);
    delete from public.message_history h using public.sites s
    where s.id = h.site_id and h.changed_at < p_now - make_interval(days => s.retention_days);
  exception when others then
    v_errors := v_errors || jsonb_build_object('step', 'messages_purged', 'error', sqlerrm);
  end;

  return v_result || jsonb_build_object('errors', v_errors);
end;
$$;
