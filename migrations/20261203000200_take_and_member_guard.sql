-- The console's inbox lets an operator pick a conversation from the queue, not only the oldest
-- one: take_conversation(id) gives a waiting (or unheld snoozed) conversation to the caller,
-- under the same rules as the rest of the lifecycle (online, a free seat, a support level at or
-- above the conversation's). Lock order as everywhere: the conversation first
-- (staff_conversation), then the caller's membership row (assign_to counts seats under it).
--
-- A member's own row: the policy "members their own availability" let any member update their
-- row so long as the role stayed the same, which let an operator raise their own support level
-- or seat count. A trigger now refuses a change of anything but availability, display name and
-- picture unless the caller is an owner or admin of the site (or the service role).
-- Tags had no bound: at most 20 per conversation, each of 1 to 40 characters
-- (chat_core::limits::TAGS_PER_CONVERSATION, TAG_CHARS).
-- Affects: take_conversation (new), guard_member_update (new), a trigger on site_members,
--          tags_fit (new), a check on conversations.tags.

create function public.take_conversation(p_conversation_id uuid) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_level text;
begin
  v_conversation := public.staff_conversation(p_conversation_id);
  if auth.uid() is null then
    perform public.refuse('forbidden', 'Only a signed-in operator takes conversations.');
  end if;
  if v_conversation.status = 'closed' then
    perform public.refuse('conversation_closed', 'Reopen the conversation first.');
  end if;
  if v_conversation.assigned_operator_id = auth.uid() then
    return to_jsonb(v_conversation);
  end if;
  if v_conversation.assigned_operator_id is not null then
    perform public.refuse('already_assigned', 'Someone else holds this conversation; they can transfer it to you.');
  end if;
  select support_level into v_level from public.site_members
  where site_id = v_conversation.site_id and user_id = auth.uid();
  if public.support_level_rank(v_level) < public.support_level_rank(v_conversation.escalation_level) then
    perform public.refuse('level_too_low', 'This conversation was escalated above your support level.');
  end if;
  v_conversation := public.assign_to(v_conversation, auth.uid(), now());
  insert into public.operator_daily_stats (site_id, user_id, day, conversations_handled)
  values (v_conversation.site_id, auth.uid(), (now() at time zone 'UTC')::date, 1)
  on conflict (site_id, user_id, day) do update
    set conversations_handled = public.operator_daily_stats.conversations_handled + 1;
  return to_jsonb(v_conversation);
end;
$$;
comment on function public.take_conversation(uuid) is
  'An online operator takes a conversation nobody holds (within capacity and support level). Idempotent.';
revoke execute on function public.take_conversation(uuid) from public, anon;
grant execute on function public.take_conversation(uuid) to authenticated, service_role;

create function public.guard_member_update() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if auth.role() = 'service_role' or auth.uid() is null
     or public.has_site_role(old.site_id, array['owner', 'admin']) then
    return new;
  end if;
  if (new.site_id, new.user_id, new.role, new.max_concurrent_chats, new.support_level)
     is distinct from (old.site_id, old.user_id, old.role, old.max_concurrent_chats, old.support_level) then
    perform public.refuse('forbidden', 'You may change only your own availability, name and picture.');
  end if;
  return new;
end;
$$;
revoke execute on function public.guard_member_update() from public, anon, authenticated;
create trigger site_members_guard_update before update on public.site_members
  for each row execute function public.guard_member_update();

-- Whether a conversation's tags fit: at most 20, each of 1 to 40 characters.
create function public.tags_fit(p_tags text[]) returns boolean
language sql immutable
set search_path = ''
as $$
  select cardinality(p_tags) <= 20 and coalesce(bool_and(char_length(t) between 1 and 40), true)
  from unnest(p_tags) as t
$$;
revoke execute on function public.tags_fit(text[]) from public, anon;
grant execute on function public.tags_fit(text[]) to authenticated, service_role;
alter table public.conversations add constraint conversations_tags_check check (public.tags_fit(tags));
