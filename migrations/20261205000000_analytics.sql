-- Owner analytics. Every chart reads conversations, never messages: a conversation keeps what
-- the charts need (answers by kind, the handoff, the first human reply), kept by the trigger
-- that already counts each message, so a report over any range costs the same at 10M messages
-- as at 100k (bench/hot_queries.sql). The operators' table reads operator_daily_stats, whose
-- average response time was a running halving of the last two values; it now keeps a count
-- and a sum and the average is their quotient.
--
-- A report covers the conversations started between two days, inclusive, in the site's time
-- zone (widget_settings.timezone); the operators' table covers those days in UTC, the days its
-- stats are kept by. The functions run as the caller: row-level security decides what they
-- count (an operator's table shows only their own row).
-- Affects: conversations (automatic_answer_count, ai_answer_count, human_answer_count,
-- handed_off_at, first_human_response_seconds; conversations_site_created_idx),
-- operator_daily_stats (responses, response_seconds_total), count_new_message(),
-- analytics_window, analytics_conversations, analytics_response_times, analytics_satisfaction,
-- analytics_answers, analytics_busiest_hours, analytics_operators, analytics_report (new).

alter table public.conversations
  add column automatic_answer_count integer not null default 0 check (automatic_answer_count >= 0),
  add column ai_answer_count integer not null default 0 check (ai_answer_count >= 0),
  add column human_answer_count integer not null default 0 check (human_answer_count >= 0),
  add column handed_off_at timestamptz,
  add column first_human_response_seconds integer check (first_human_response_seconds >= 0);
comment on column public.conversations.automatic_answer_count is 'Knowledge answers and away messages given (ai messages of those kinds).';
comment on column public.conversations.ai_answer_count is 'Answers written by a language model (ai messages of any other kind).';
comment on column public.conversations.human_answer_count is 'Operators'' messages to the customer (notes excluded).';
comment on column public.conversations.handed_off_at is 'When a human took over from automatic answers: their first reply after one.';
comment on column public.conversations.first_human_response_seconds is 'From the customer''s first message to the first operator reply after it.';
-- Reports: a site's conversations started in a range.
create index conversations_site_created_idx on public.conversations (site_id, created_at);

alter table public.operator_daily_stats
  add column responses integer not null default 0 check (responses >= 0),
  add column response_seconds_total bigint not null default 0 check (response_seconds_total >= 0);
comment on column public.operator_daily_stats.avg_response_seconds is 'response_seconds_total / responses, rounded down.';

-- What the rows hold so far. The old averages are kept as one response each.
update public.operator_daily_stats
set responses = 1, response_seconds_total = avg_response_seconds
where avg_response_seconds is not null;
update public.conversations c
set automatic_answer_count = m.automatic, ai_answer_count = m.ai, human_answer_count = m.human,
    handed_off_at = m.handed_off_at,
    -- (greatest() skips nulls: a conversation without both messages is left null by the case.)
    first_human_response_seconds = (
      select case when min(o.created_at) is not null
                  then greatest(0, extract(epoch from min(o.created_at) - m.first_customer))::integer end
      from public.messages o
      where o.conversation_id = c.id and o.sender_type = 'operator' and not o.internal and o.created_at >= m.first_customer
    )
from (
  select conversation_id,
         count(*) filter (where sender_type = 'ai' and metadata ->> 'kind' in ('knowledge_answer', 'away_message')) as automatic,
         count(*) filter (where sender_type = 'ai' and metadata ->> 'kind' is distinct from 'knowledge_answer'
                            and metadata ->> 'kind' is distinct from 'away_message') as ai,
         count(*) filter (where sender_type = 'operator') as human,
         min(created_at) filter (where sender_type = 'customer') as first_customer,
         min(created_at) filter (where sender_type = 'operator' and exists (
           select 1 from public.messages a
           where a.conversation_id = messages.conversation_id and a.sender_type = 'ai' and a.created_at < messages.created_at
         )) as handed_off_at
  from public.messages
  where not internal
  group by conversation_id
) m
where c.id = m.conversation_id;

-- As before (20261202000000_conversation_lifecycle.sql), plus the answers by kind, the
-- handoff, the first human reply and the operators' response sums.
create or replace function public.count_new_message() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_response_seconds integer;
  v_first_customer_at timestamptz;
  v_automatic boolean := new.sender_type = 'ai' and coalesce(new.metadata ->> 'kind' in ('knowledge_answer', 'away_message'), false);
begin
  if new.internal then
    return null;
  end if;
  select * into v_conversation from public.conversations where id = new.conversation_id for update;
  if new.sender_type in ('operator', 'ai') and v_conversation.last_customer_message_at is not null
     and (v_conversation.last_message_at is null or v_conversation.last_message_at <= v_conversation.last_customer_message_at) then
    v_response_seconds := greatest(0, extract(epoch from new.created_at - v_conversation.last_customer_message_at))::integer;
  end if;
  -- The first human reply to a customer: timed from the customer's first message (once per
  -- conversation; the conversation's messages are walked in order by their index).
  if new.sender_type = 'operator' and v_conversation.first_human_response_seconds is null then
    select m.created_at into v_first_customer_at from public.messages m
    where m.conversation_id = new.conversation_id and m.sender_type = 'customer' and not m.internal
    order by m.seq
    limit 1;
  end if;
  update public.conversations
  set message_count = message_count + 1,
      last_message_at = greatest(coalesce(last_message_at, new.created_at), new.created_at),
      last_customer_message_at = case when new.sender_type = 'customer' then new.created_at else last_customer_message_at end,
      unread_count = case when new.sender_type = 'customer' then unread_count + 1 else 0 end,
      first_response_seconds = coalesce(first_response_seconds, v_response_seconds),
      avg_response_seconds = case when v_response_seconds is null then avg_response_seconds
        else ((coalesce(avg_response_seconds, 0)::bigint * response_count + v_response_seconds) / (response_count + 1))::integer end,
      response_count = response_count + case when v_response_seconds is null then 0 else 1 end,
      automatic_answer_count = automatic_answer_count + case when v_automatic then 1 else 0 end,
      ai_answer_count = ai_answer_count + case when new.sender_type = 'ai' and not v_automatic then 1 else 0 end,
      human_answer_count = human_answer_count + case when new.sender_type = 'operator' then 1 else 0 end,
      handed_off_at = case
        when handed_off_at is null and new.sender_type = 'operator' and automatic_answer_count + ai_answer_count > 0
        then new.created_at else handed_off_at end,
      first_human_response_seconds = coalesce(first_human_response_seconds, case when v_first_customer_at is not null
        then greatest(0, extract(epoch from new.created_at - v_first_customer_at))::integer end)
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
    insert into public.operator_daily_stats (site_id, user_id, day, messages_sent, responses, response_seconds_total, avg_response_seconds)
    values (new.site_id, new.sender_user_id, (new.created_at at time zone 'UTC')::date, 1,
            case when v_response_seconds is null then 0 else 1 end, coalesce(v_response_seconds, 0), v_response_seconds)
    on conflict (site_id, user_id, day) do update
      set messages_sent = public.operator_daily_stats.messages_sent + 1,
          responses = public.operator_daily_stats.responses + excluded.responses,
          response_seconds_total = public.operator_daily_stats.response_seconds_total + excluded.response_seconds_total,
          avg_response_seconds = case when public.operator_daily_stats.responses + excluded.responses = 0 then null
            else ((public.operator_daily_stats.response_seconds_total + excluded.response_seconds_total)
                  / (public.operator_daily_stats.responses + excluded.responses))::integer end;
  end if;
  return null;
end;
$$;

-- The instants a report covers: from the start of p_from to the end of p_to in the site's
-- time zone. Refuses a reversed range or one longer than chat_core::limits::ANALYTICS_RANGE_DAYS.
create function public.analytics_window(p_site_id uuid, p_from date, p_to date,
  out time_zone text, out starts_at timestamptz, out ends_at timestamptz)
language plpgsql stable
set search_path = ''
as $$
begin
  if p_from is null or p_to is null or p_to < p_from then
    raise exception using errcode = 'P0001', message = 'validation_failed',
      detail = 'The report''s last day must be on or after its first day.';
  end if;
  if p_to - p_from >= 366 then
    raise exception using errcode = 'P0001', message = 'validation_failed',
      detail = 'A report covers at most 366 days: choose a shorter range.';
  end if;
  select w.timezone into time_zone from public.widget_settings w where w.site_id = p_site_id;
  time_zone := coalesce(time_zone, 'UTC');
  starts_at := p_from::timestamp at time zone time_zone;
  ends_at := (p_to + 1)::timestamp at time zone time_zone;
end;
$$;
comment on function public.analytics_window(uuid, date, date) is 'The site''s time zone and the instants from p_from to the end of p_to in it.';

create function public.analytics_conversations(p_site_id uuid, p_from date, p_to date)
returns table (day date, channel text, conversations bigint)
language sql stable
set search_path = ''
as $$
  select (c.created_at at time zone w.time_zone)::date, c.source, count(*)
  from public.analytics_window(p_site_id, p_from, p_to) w
  join public.conversations c on c.site_id = p_site_id and c.created_at >= w.starts_at and c.created_at < w.ends_at
  group by 1, 2
  order by 1, 2
$$;
comment on function public.analytics_conversations(uuid, date, date) is 'Conversations started per day (site time) and channel.';

create function public.analytics_response_times(p_site_id uuid, p_from date, p_to date)
returns table (day date, answered bigint, p50_seconds double precision, p90_seconds double precision)
language sql stable
set search_path = ''
as $$
  select (c.created_at at time zone w.time_zone)::date, count(*),
         percentile_cont(0.5) within group (order by c.first_human_response_seconds),
         percentile_cont(0.9) within group (order by c.first_human_response_seconds)
  from public.analytics_window(p_site_id, p_from, p_to) w
  join public.conversations c on c.site_id = p_site_id and c.created_at >= w.starts_at and c.created_at < w.ends_at
  where c.first_human_response_seconds is not null
  group by rollup (1)
  having count(*) > 0
  order by 1 nulls first
$$;
comment on function public.analytics_response_times(uuid, date, date) is
  'Per day (site time), and first for the whole range (day null): conversations a human answered, and the median and 90th percentile of their first-response time.';

create function public.analytics_satisfaction(p_site_id uuid, p_from date, p_to date)
returns table (rating smallint, conversations bigint)
language sql stable
set search_path = ''
as $$
  select c.csat, count(*)
  from public.analytics_window(p_site_id, p_from, p_to) w
  join public.conversations c on c.site_id = p_site_id and c.created_at >= w.starts_at and c.created_at < w.ends_at
  where c.csat is not null
  group by 1
  order by 1
$$;
comment on function public.analytics_satisfaction(uuid, date, date) is 'How many conversations got each rating (1-5).';

create function public.analytics_answers(p_site_id uuid, p_from date, p_to date)
returns table (day date, automatic bigint, ai bigint, human bigint, handoffs bigint)
language sql stable
set search_path = ''
as $$
  select (c.created_at at time zone w.time_zone)::date, sum(c.automatic_answer_count)::bigint,
         sum(c.ai_answer_count)::bigint, sum(c.human_answer_count)::bigint, count(c.handed_off_at)
  from public.analytics_window(p_site_id, p_from, p_to) w
  join public.conversations c on c.site_id = p_site_id and c.created_at >= w.starts_at and c.created_at < w.ends_at
  group by 1
  order by 1
$$;
comment on function public.analytics_answers(uuid, date, date) is
  'Per day (site time): automatic, AI and human answers in the conversations started, and those handed off to a human.';

create function public.analytics_busiest_hours(p_site_id uuid, p_from date, p_to date)
returns table (weekday smallint, hour smallint, conversations bigint)
language sql stable
set search_path = ''
as $$
  select (extract(isodow from c.created_at at time zone w.time_zone) - 1)::smallint,
         extract(hour from c.created_at at time zone w.time_zone)::smallint, count(*)
  from public.analytics_window(p_site_id, p_from, p_to) w
  join public.conversations c on c.site_id = p_site_id and c.created_at >= w.starts_at and c.created_at < w.ends_at
  group by 1, 2
  order by 1, 2
$$;
comment on function public.analytics_busiest_hours(uuid, date, date) is
  'Conversations started per weekday (0 = Monday) and hour, in the site''s time zone.';

create function public.analytics_operators(p_site_id uuid, p_from date, p_to date)
returns table (user_id uuid, display_name text, messages_sent bigint, conversations_handled bigint,
               avg_response_seconds integer, idle_incidents bigint, rated bigint, average_rating double precision)
language sql stable
set search_path = ''
as $$
  with w as (select * from public.analytics_window(p_site_id, p_from, p_to)),
  stats as (
    select s.user_id, sum(s.messages_sent)::bigint as messages_sent,
           sum(s.conversations_handled)::bigint as conversations_handled,
           (sum(s.response_seconds_total) / nullif(sum(s.responses), 0))::integer as avg_response_seconds,
           sum(s.idle_incidents)::bigint as idle_incidents
    from public.operator_daily_stats s, w
    where s.site_id = p_site_id and s.day between p_from and p_to
    group by s.user_id
  ),
  ratings as (
    select c.assigned_operator_id as user_id, count(*) as rated, avg(c.csat)::double precision as average_rating
    from w join public.conversations c
      on c.site_id = p_site_id and c.created_at >= w.starts_at and c.created_at < w.ends_at
    where c.csat is not null and c.assigned_operator_id is not null
    group by 1
  )
  select u.user_id, m.display_name, coalesce(s.messages_sent, 0), coalesce(s.conversations_handled, 0),
         s.avg_response_seconds, coalesce(s.idle_incidents, 0), coalesce(r.rated, 0), r.average_rating
  from (select stats.user_id from stats union select ratings.user_id from ratings) u
  left join stats s on s.user_id = u.user_id
  left join ratings r on r.user_id = u.user_id
  left join public.site_members m on m.site_id = p_site_id and m.user_id = u.user_id
  order by coalesce(s.messages_sent, 0) desc, m.display_name, u.user_id
$$;
comment on function public.analytics_operators(uuid, date, date) is
  'Per operator: messages, conversations handled, average response, idle incidents (UTC days) and ratings of their conversations.';

-- The console's one call: every section of the report for a range, read in one snapshot.
create function public.analytics_report(p_site_id uuid, p_from date, p_to date)
returns jsonb
language sql stable
set search_path = ''
as $$
  select jsonb_build_object(
    'time_zone', w.time_zone,
    'conversations', (select coalesce(jsonb_agg(r), '[]') from public.analytics_conversations(p_site_id, p_from, p_to) r),
    'response_times', (select coalesce(jsonb_agg(r), '[]') from public.analytics_response_times(p_site_id, p_from, p_to) r),
    'satisfaction', (select coalesce(jsonb_agg(r), '[]') from public.analytics_satisfaction(p_site_id, p_from, p_to) r),
    'answers', (select coalesce(jsonb_agg(r), '[]') from public.analytics_answers(p_site_id, p_from, p_to) r),
    'busiest_hours', (select coalesce(jsonb_agg(r), '[]') from public.analytics_busiest_hours(p_site_id, p_from, p_to) r),
    'operators', (select coalesce(jsonb_agg(r), '[]') from public.analytics_operators(p_site_id, p_from, p_to) r))
  from public.analytics_window(p_site_id, p_from, p_to) w
$$;
comment on function public.analytics_report(uuid, date, date) is 'Every analytics_* result for the range, and the time zone its days are in.';

revoke execute on function public.analytics_report(uuid, date, date) from public, anon;
grant execute on function public.analytics_report(uuid, date, date) to authenticated;
revoke execute on function public.analytics_window(uuid, date, date) from public, anon;
revoke execute on function public.analytics_conversations(uuid, date, date) from public, anon;
revoke execute on function public.analytics_response_times(uuid, date, date) from public, anon;
revoke execute on function public.analytics_satisfaction(uuid, date, date) from public, anon;
revoke execute on function public.analytics_answers(uuid, date, date) from public, anon;
revoke execute on function public.analytics_busiest_hours(uuid, date, date) from public, anon;
revoke execute on function public.analytics_operators(uuid, date, date) from public, anon;
grant execute on function public.analytics_window(uuid, date, date) to authenticated;
grant execute on function public.analytics_conversations(uuid, date, date) to authenticated;
grant execute on function public.analytics_response_times(uuid, date, date) to authenticated;
grant execute on function public.analytics_satisfaction(uuid, date, date) to authenticated;
grant execute on function public.analytics_answers(uuid, date, date) to authenticated;
grant execute on function public.analytics_busiest_hours(uuid, date, date) to authenticated;
grant execute on function public.analytics_operators(uuid, date, date) to authenticated;
