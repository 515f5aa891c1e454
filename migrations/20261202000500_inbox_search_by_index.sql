-- The inbox at 10M messages (`cargo xtask bench queries`): 337 ms a page, 2 s a search. Two
-- causes, both measured with auto_explain:
-- - JIT. The query's estimated cost counted the search over message text even when there was no
--   search, which passed jit_above_cost, and compiling the plan took about 300 ms of every call
--   (1.6 ms without). The search clause is now added only when there is a search, and the
--   function runs with jit off: a page of 50 rows never gains from compiling.
-- - The search over message text read all 10M messages: under RLS, a condition whose operator
--   is not leakproof (`ilike`) may not become an index condition, so the trigram index was never
--   used. The text search now runs in inbox_text_matches(), a definer function that checks the
--   membership the messages policy checks and then uses the index.
-- A search takes one of two ways, since neither is fast for every word. First it walks the
-- newest 200 conversations of the page's filter, each checked through its own messages (fast
-- for a common word: a page fills at once). When that does not decide the page (fewer matches
-- than the page holds, more conversations to look at), the trigram index lists every matching
-- conversation (fast for a rare word: few postings).
-- Message text is searched from 3 characters on (a trigram needs three; a shorter pattern could
-- not use the index); names and emails from the first.
-- Affects: inbox (same signature and result), inbox_text_matches (new).

-- The conversations of site `p_site_id` with a message matching `p_pattern` (an ilike pattern),
-- for a member of the site (as the messages policy "Members can see messages") or the service
-- role; nothing for anyone else.
create function public.inbox_text_matches(p_site_id uuid, p_pattern text) returns setof uuid
language sql stable security definer
set search_path = ''
as $$
  select distinct m.conversation_id from public.messages m
  where ((select auth.role()) = 'service_role' or p_site_id = any ((select public.member_site_ids())::uuid[]))
    and m.site_id = p_site_id and m.deleted_at is null and m.content ilike p_pattern
$$;
comment on function public.inbox_text_matches(uuid, text) is
  'The inbox''s search over message text: conversations of a site the caller is a member of with a matching message.';
revoke execute on function public.inbox_text_matches(uuid, text) from public, anon;
grant execute on function public.inbox_text_matches(uuid, text) to authenticated, service_role;

create or replace function public.inbox(
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
set jit = off
as $$
declare
  -- The page's candidates: the site's conversations (with their customers) for the filter,
  -- after the cursor. Each statement below puts its own joins between the two parts.
  v_conversations constant text := $sql$
    from public.conversations c
    left join public.customers cu on cu.id = c.customer_id
  $sql$;
  v_candidates constant text := $sql$
    where c.site_id = $1
      and case $2
            when 'mine' then c.status in ('active', 'snoozed') and c.assigned_operator_id = (select auth.uid())
            when 'unassigned' then c.status = 'waiting'
            when 'open' then c.status in ('waiting', 'active')
            when 'snoozed' then c.status = 'snoozed'
            when 'closed' then c.status = 'closed'
            else false
          end
      and ($4 is null or (c.last_message_at, c.id) < ($4, $5))
  $sql$;
  -- How many conversations a search walks before it asks the trigram index.
  v_walk constant integer := 200;
  v_term text := nullif(btrim(p_search), '');
  v_limit integer := least(greatest(coalesce(p_limit, 50), 1), 100);
  v_pattern text;
  v_matches uuid[];
  v_walked integer;
  v_search text := '';
begin
  if v_term is not null then
    v_pattern := '%' || replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_') || '%';
    v_search := 'and (cu.name ilike $3 or cu.email ilike $3)';
  end if;
  if char_length(v_term) >= 3 then
    execute format($sql$
      select count(*)::integer, coalesce(array_agg(w.id) filter (where w.hit), '{}')
      from (select c.id, cu.name ilike $3 or cu.email ilike $3 or said.hit as hit
            %s
            -- A lateral subquery with a limit: each conversation is read through its own index
            -- entries (an exists could be turned into one hash of all the site's matches).
            left join lateral (
              select true as hit from public.messages m
              where m.conversation_id = c.id and m.deleted_at is null and m.content ilike $3
              limit 1
            ) said on true
            %s
            order by c.last_message_at desc, c.id desc
            limit $6) w
    $sql$, v_conversations, v_candidates)
    into v_walked, v_matches
    using p_site_id, p_filter, v_pattern, p_cursor_at, p_cursor_id, v_walk;
    if cardinality(v_matches) >= v_limit or v_walked < v_walk then
      v_search := 'and c.id = any ($7)';
    else
      v_matches := array(select public.inbox_text_matches(p_site_id, v_pattern));
      v_search := 'and (cu.name ilike $3 or cu.email ilike $3 or c.id = any ($7))';
    end if;
  end if;
  -- Dynamic on purpose: planned for each call with its filter, search and cursor known. Only
  -- the fixed clauses above are spliced in; every value is a parameter.
  return query execute format($sql$
    select c.id, c.status, c.priority, c.subject, c.escalation_level, c.snoozed_until,
           c.last_message_at, c.assigned_operator_id, c.customer_id, cu.name, cu.email,
           last.content, last.sender_type, last.internal,
           (select count(*)::integer from (
              select 1 from public.messages m
              where m.conversation_id = c.id and m.sender_type = 'customer'
                and m.seq > coalesce(p.last_read_seq, 0)
              limit 100) unread) as unread
    %s
    left join public.conversation_participants p on p.conversation_id = c.id and p.user_id = (select auth.uid())
    left join lateral (
      select m.content, m.sender_type, m.internal from public.messages m
      where m.conversation_id = c.id and m.deleted_at is null
      order by m.seq desc limit 1
    ) last on true
    %s %s
    order by c.last_message_at desc, c.id desc
    limit $6
  $sql$, v_conversations, v_candidates, v_search)
  using p_site_id, p_filter, v_pattern, p_cursor_at, p_cursor_id, v_limit, v_matches;
end;
$$;
