-- The operator inbox: one call returning a page of a site's conversations for a filter, newest
-- activity first, with the customer, the assignee, the last message and the caller's unread
-- count. Invoker rights: RLS decides what the caller sees (a non-member gets nothing).
-- Keyset pagination: pass the last row's (last_message_at, id) as the cursor.
-- Every conversation has a last activity (its creation until the first message), so the order
-- and the cursor need no special case for nulls, and one index serves every filter.
-- Affects: conversations (last_message_at defaults to the creation time), messages (an index for
--          unread counts, a trigram index for search; the pg_trgm extension), inbox (new).

update public.conversations set last_message_at = created_at where last_message_at is null;
alter table public.conversations alter column last_message_at set default now();
alter table public.conversations alter column last_message_at set not null;
create index conversations_site_activity_idx on public.conversations (site_id, last_message_at desc, id desc);
-- Superseded by the index above (same order, every status).
drop index public.conversations_inbox_idx;
-- The caller's unread count reads the customer's messages after their cursor only, at most 100.
create index messages_customer_seq_idx on public.messages (conversation_id, seq) where sender_type = 'customer';
-- Search over message text: trigrams make `ilike '%...%'` an index lookup instead of a scan of
-- every message of the site (8 s at 10M messages without it, `cargo xtask bench queries`).
create extension if not exists pg_trgm with schema extensions;
create index messages_content_trgm_idx on public.messages using gin (content extensions.gin_trgm_ops);

create function public.inbox(
  p_site_id uuid,
  p_filter text default 'open',
  p_search text default null,
  p_cursor_at timestamptz default null,
  p_cursor_id uuid default null,
  p_limit integer default 50
) returns table (
  id uuid, status text, priority text, subject text, escalation_level text, snoozed_until timestamptz,
  last_message_at timestamptz, assigned_operator_id uuid, customer_id uuid, customer_name text,
  customer_email text, last_message text, last_sender_type text, last_internal boolean, unread integer
)
language plpgsql stable
set search_path = ''
as $$
begin
  -- Dynamic on purpose: planned for each call with its filter, search and cursor known (a
  -- plan made for unknown values walks every message at 10M rows: 0.5 s instead of ms).
  return query execute $query$
  with search as (
    select '%' || replace(replace(replace(btrim($3), '\', '\\'), '%', '\%'), '_', '\_') || '%' as pattern
    where nullif(btrim($3), '') is not null
  )
  select c.id, c.status, c.priority, c.subject, c.escalation_level, c.snoozed_until,
         c.last_message_at, c.assigned_operator_id, c.customer_id, cu.name, cu.email,
         last.content, last.sender_type, last.internal,
         (select count(*)::integer from (
            select 1 from public.messages m
            where m.conversation_id = c.id and m.sender_type = 'customer'
              and m.seq > coalesce(p.last_read_seq, 0)
            limit 100) unread) as unread
  from public.conversations c
  left join public.customers cu on cu.id = c.customer_id
  left join public.conversation_participants p on p.conversation_id = c.id and p.user_id = (select auth.uid())
  left join lateral (
    select m.content, m.sender_type, m.internal from public.messages m
    where m.conversation_id = c.id and m.deleted_at is null
    order by m.seq desc limit 1
  ) last on true
  where c.site_id = $1
    and case $2
          when 'mine' then c.status in ('active', 'snoozed') and c.assigned_operator_id = (select auth.uid())
          when 'unassigned' then c.status = 'waiting'
          when 'open' then c.status in ('waiting', 'active')
          when 'snoozed' then c.status = 'snoozed'
          when 'closed' then c.status = 'closed'
          else false
        end
    and (not exists (select 1 from search)
         or cu.name ilike (select pattern from search)
         or cu.email ilike (select pattern from search)
         or c.id in (select m.conversation_id from public.messages m
                     where m.site_id = $1 and m.deleted_at is null
                       and m.content ilike (select pattern from search)))
    and ($4 is null
         or (c.last_message_at, c.id) < ($4, $5))
  order by c.last_message_at desc, c.id desc
  limit least(greatest(coalesce($6, 50), 1), 100)
  $query$ using p_site_id, p_filter, p_search, p_cursor_at, p_cursor_id, p_limit;
end;
$$;
comment on function public.inbox(uuid, text, text, timestamptz, uuid, integer) is
  'A page of a site''s conversations for a filter (mine, unassigned, open, snoozed, closed) and search, under RLS.';
revoke execute on function public.inbox(uuid, text, text, timestamptz, uuid, integer) from public, anon;
grant execute on function public.inbox(uuid, text, text, timestamptz, uuid, integer) to authenticated, service_role;
