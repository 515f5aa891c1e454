-- Hot queries at scale: the latest page of a conversation and the operator inbox, run under
-- RLS as an operator, and the owners' analytics as an admin, timed at 100k messages (baseline)
-- and again at 10M messages in the same run; prints the ratio and the EXPLAIN (ANALYZE,
-- BUFFERS) plans at 10M.
-- Run with `cargo xtask bench` (fresh database, migrations applied, dropped afterwards).
\set ON_ERROR_STOP on
\pset pager off
\timing off

-- Generation skips triggers (counters, audit) and FK checks; CHECKs still apply.
set session_replication_role = replica;

insert into auth.users (id, email) values ('be000000-0000-4000-8000-000000000001', 'bench@example.test');
insert into public.sites (id, owner_id, name, site_key)
select ('be100000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'be000000-0000-4000-8000-000000000001', 'Bench ' || g, 'bench-' || g
from generate_series(1, 10) g;
insert into public.site_members (site_id, user_id, role)
select id, 'be000000-0000-4000-8000-000000000001', 'operator' from public.sites where site_key like 'bench-%';
-- The analytics reader: an admin of the first site, who sees every operator's stats.
insert into auth.users (id, email) values ('be000000-0000-4000-8000-000000000002', 'bench-admin@example.test');
insert into public.site_members (site_id, user_id, role)
values ('be100000-0000-4000-8000-000000000001', 'be000000-0000-4000-8000-000000000002', 'admin');

-- 100,000 conversations over 10 sites, started over 30 days; a fifth of them closed and rated.
-- The counters the message trigger keeps (skipped here) are given as it would have left them.
insert into public.conversations (site_id, status, closed_at, created_at, last_message_at, source, csat,
                                  automatic_answer_count, ai_answer_count, human_answer_count,
                                  first_human_response_seconds, handed_off_at)
select ('be100000-0000-4000-8000-' || lpad((1 + g % 10)::text, 12, '0'))::uuid,
       case when g % 5 = 3 then 'closed' else 'active' end,
       case when g % 5 = 3 then now() end,
       now() - interval '30 days' + (g % 43200) * interval '1 minute', now() - (g || ' seconds')::interval,
       (array['widget', 'link', 'sms', 'email', 'api'])[1 + g % 5],
       case when g % 5 = 3 then 1 + g % 5 end,
       g % 3, g % 2, g % 7, case when g % 7 > 0 then g % 900 end,
       case when g % 7 > 0 and g % 3 > 0 then now() - interval '29 days' end
from generate_series(1, 100000) g;
-- Twenty operators' days on the first site.
insert into public.operator_daily_stats (site_id, user_id, day, messages_sent, conversations_handled,
                                         responses, response_seconds_total, avg_response_seconds)
select 'be100000-0000-4000-8000-000000000001', u, current_date - d, 40, 8, 30, 30 * 90, 90
from (select gen_random_uuid() as u from generate_series(1, 20)) operators, generate_series(0, 30) d;

create temporary table hot as
select (select id from public.conversations where site_id = 'be100000-0000-4000-8000-000000000001' order by created_at, id limit 1) as conversation_id,
       'be100000-0000-4000-8000-000000000001'::uuid as site_id;

-- The conversation both measurements read: 1,000 messages before the baseline, so the only
-- difference between the two runs is the size of the table around it.
insert into public.messages (conversation_id, site_id, sender_type, content, created_at)
select conversation_id, site_id, 'system', 'Hot message ' || g, now() - interval '31 days' + make_interval(secs => g)
from hot, generate_series(1, 1000) g;

-- One round: one message in every conversation, so conversations interleave as in real traffic.
create or replace function pg_temp.load_rounds(p_from integer, p_to integer) returns void language plpgsql as $$
begin
  for r in p_from .. p_to loop
    insert into public.messages (conversation_id, site_id, sender_type, content, created_at)
    select c.id, c.site_id, case when r % 2 = 0 then 'ai' else 'system' end,
           'Message ' || r || ' of conversation ' || c.id, now() - interval '30 days' + make_interval(secs => r * 60)
    from public.conversations c;
  end loop;
end;
$$;

-- Mean milliseconds of a statement over p_runs runs, as the operator under RLS.
create or replace function pg_temp.mean_ms(p_sql text, p_runs integer) returns numeric language plpgsql as $$
declare
  started timestamptz;
  total interval := interval '0';
begin
  for i in 1 .. p_runs loop
    started := clock_timestamp();
    execute p_sql;
    total := total + (clock_timestamp() - started);
  end loop;
  return round((extract(epoch from total) * 1000 / p_runs)::numeric, 4);
end;
$$;

create temporary table results (scale text, query text, mean_ms numeric);
grant all on results, hot to authenticated;
-- New functions get no EXECUTE for PUBLIC here (migrations/20261201000100_function_privileges.sql).
grant execute on function pg_temp.mean_ms(text, integer) to authenticated;

\set latest_page 'select id, seq, sender_type, content, created_at from public.messages where conversation_id = (select conversation_id from hot) order by seq desc limit 50'
\set inbox 'select id, status, priority, last_message_at, message_count from public.conversations where site_id = (select site_id from hot) and status <> ''closed'' order by last_message_at desc, id desc limit 50'
-- The operator console's inbox: the same page with customer, last message and my unread count,
-- and searches over message text: a phrase no message holds (the trigram index answers) and
-- one in a tenth of the messages (the newest conversations answer).
\set inbox_rpc 'select * from public.inbox((select site_id from hot), ''open'')'
\set inbox_search 'select * from public.inbox((select site_id from hot), ''open'', ''no such text'')'
\set inbox_search_common 'select * from public.inbox((select site_id from hot), ''open'', ''Message 5'')'

-- The owners' analytics over the 31 days that hold every conversation, as the site's admin.
\set analytics_report 'select public.analytics_report((select site_id from hot), current_date - 31, current_date)'
\set analytics_conversations 'select * from public.analytics_conversations((select site_id from hot), current_date - 31, current_date)'
\set analytics_response_times 'select * from public.analytics_response_times((select site_id from hot), current_date - 31, current_date)'
\set analytics_answers 'select * from public.analytics_answers((select site_id from hot), current_date - 31, current_date)'
\set analytics_busiest_hours 'select * from public.analytics_busiest_hours((select site_id from hot), current_date - 31, current_date)'
\set analytics_operators 'select * from public.analytics_operators((select site_id from hot), current_date - 31, current_date)'
\set as_admin 'select set_config(''request.jwt.claims'', ''{"role": "authenticated", "sub": "be000000-0000-4000-8000-000000000002"}'', false)'
\set as_operator 'select set_config(''request.jwt.claims'', ''{"role": "authenticated", "sub": "be000000-0000-4000-8000-000000000001"}'', false)'

select pg_temp.load_rounds(1, 1);
analyze;
set role authenticated;
select set_config('request.jwt.claims', '{"role": "authenticated", "sub": "be000000-0000-4000-8000-000000000001"}', false);
insert into results select '100k', 'latest page', pg_temp.mean_ms(:'latest_page', 300);
insert into results select '100k', 'inbox', pg_temp.mean_ms(:'inbox', 300);
insert into results select '100k', 'inbox rpc', pg_temp.mean_ms(:'inbox_rpc', 300);
insert into results select '100k', 'inbox search', pg_temp.mean_ms(:'inbox_search', 30);
insert into results select '100k', 'inbox search common', pg_temp.mean_ms(:'inbox_search_common', 30);
:as_admin \g /dev/null
insert into results select '100k', 'analytics report', pg_temp.mean_ms(:'analytics_report', 30);
insert into results select '100k', 'analytics conversations', pg_temp.mean_ms(:'analytics_conversations', 30);
insert into results select '100k', 'analytics response times', pg_temp.mean_ms(:'analytics_response_times', 30);
insert into results select '100k', 'analytics answers', pg_temp.mean_ms(:'analytics_answers', 30);
insert into results select '100k', 'analytics busiest hours', pg_temp.mean_ms(:'analytics_busiest_hours', 30);
insert into results select '100k', 'analytics operators', pg_temp.mean_ms(:'analytics_operators', 30);
:as_operator \g /dev/null
reset role;

\echo 'loading 10M messages (100 rounds of 100k) ...'
select pg_temp.load_rounds(2, 100);
analyze;
select count(*) as messages from public.messages;

set role authenticated;
insert into results select '10M', 'latest page', pg_temp.mean_ms(:'latest_page', 300);
insert into results select '10M', 'inbox', pg_temp.mean_ms(:'inbox', 300);
insert into results select '10M', 'inbox rpc', pg_temp.mean_ms(:'inbox_rpc', 300);
insert into results select '10M', 'inbox search', pg_temp.mean_ms(:'inbox_search', 30);
insert into results select '10M', 'inbox search common', pg_temp.mean_ms(:'inbox_search_common', 30);
:as_admin \g /dev/null
insert into results select '10M', 'analytics report', pg_temp.mean_ms(:'analytics_report', 30);
insert into results select '10M', 'analytics conversations', pg_temp.mean_ms(:'analytics_conversations', 30);
insert into results select '10M', 'analytics response times', pg_temp.mean_ms(:'analytics_response_times', 30);
insert into results select '10M', 'analytics answers', pg_temp.mean_ms(:'analytics_answers', 30);
insert into results select '10M', 'analytics busiest hours', pg_temp.mean_ms(:'analytics_busiest_hours', 30);
insert into results select '10M', 'analytics operators', pg_temp.mean_ms(:'analytics_operators', 30);
:as_operator \g /dev/null

reset role;

-- What the trigram index costs a new message: one-row inserts (triggers on, as a post runs
-- them) with the index, then without it (dropped in a transaction that is rolled back).
-- 10,000 each, so the index's pending list (4 MB, a few thousand rows) is flushed in the run.
\set insert_message 'insert into public.messages (conversation_id, site_id, sender_type, content) select conversation_id, site_id, ''system'', ''Where is my order 1042? It should have shipped on Monday.'' from hot'
set session_replication_role = origin;
create temporary table insert_results (index_state text, mean_ms numeric);
grant all on insert_results to authenticated;
insert into insert_results select 'with', pg_temp.mean_ms(:'insert_message', 10000);
begin;
drop index public.messages_content_trgm_idx;
-- Kept in a psql variable: the rollback takes the table's rows with it.
select pg_temp.mean_ms(:'insert_message', 10000) as without_index_ms \gset
rollback;
insert into insert_results values ('without', :without_index_ms);
set role authenticated;

\echo 'Mean time per query under RLS (300 runs each, inbox searches and analytics 30); ratio = 10M / 100k'
select query,
       max(mean_ms) filter (where scale = '100k') as ms_at_100k,
       max(mean_ms) filter (where scale = '10M') as ms_at_10m,
       round(max(mean_ms) filter (where scale = '10M') / nullif(max(mean_ms) filter (where scale = '100k'), 0), 2) as ratio
from results group by query order by query;

\echo 'Inserting one message at 10M messages (10,000 runs each); ratio = with the trigram index / without'
select max(mean_ms) filter (where index_state = 'with') as ms_with_trigram_index,
       max(mean_ms) filter (where index_state = 'without') as ms_without,
       round(max(mean_ms) filter (where index_state = 'with') / nullif(max(mean_ms) filter (where index_state = 'without'), 0), 2) as ratio
from insert_results;

\echo 'Latest page of a conversation (10M messages):'
explain (analyze, buffers, costs off, timing off, summary off) :latest_page;
\echo 'Operator inbox (10M messages, 100k conversations):'
explain (analyze, buffers, costs off, timing off, summary off) :inbox;
reset role;
-- The RPC's own statements, planned inside the function: auto_explain shows them.
\echo 'Inbox RPC and its search (10M messages), the statements inside the function:'
load 'auto_explain';
set auto_explain.log_min_duration = 0;
set auto_explain.log_nested_statements = on;
set auto_explain.log_analyze = on;
set auto_explain.log_buffers = on;
set auto_explain.log_timing = off;
set auto_explain.log_level = notice;
set client_min_messages = notice;
set role authenticated;
select count(*) from public.inbox((select site_id from hot), 'open');
select count(*) from public.inbox((select site_id from hot), 'open', 'no such text');
reset role;
