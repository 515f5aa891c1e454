-- The database side of Supabase Realtime, with Supabase's names and signatures, so that
-- migrations written against a hosted project (policies on realtime.messages, triggers calling
-- realtime.broadcast_changes, tables added to the supabase_realtime publication) work here.
--
-- Delivery: hosted Realtime reads realtime.messages and the published tables from the WAL
-- through a logical replication slot. This machine's PostgreSQL runs with wal_level = replica
-- and changing that needs a server restart, so here every change is written to an unlogged
-- queue and announced with NOTIFY. NOTIFY is delivered only after commit and never for a
-- rolled-back transaction: the same guarantee the WAL gives (the RLS probes of private channels
-- insert into realtime.messages inside transactions that roll back, and must not fan out).
-- Runs on every start; everything is idempotent.

create schema if not exists realtime;
grant usage on schema realtime to anon, authenticated, service_role;

-- Broadcast messages sent from the database, and the rows RLS policies are probed on.
-- Hosted Realtime partitions this table by day and keeps 72 hours; here it is one table.
create table if not exists realtime.messages (
  id uuid not null default gen_random_uuid(),
  topic text not null,
  extension text not null,
  payload jsonb,
  event text,
  private boolean default false,
  updated_at timestamp not null default now(),
  inserted_at timestamp not null default now(),
  primary key (id, inserted_at)
);
alter table realtime.messages enable row level security;
grant select, insert, update on realtime.messages to anon, authenticated, service_role;
create index if not exists messages_inserted_at_topic_index
  on realtime.messages (inserted_at desc, topic) where extension = 'broadcast' and private is true;

-- The sub-topic being authorized or sent to (without the `realtime:` prefix).
create or replace function realtime.topic() returns text
language sql stable
as $$ select nullif(current_setting('realtime.topic', true), '')::text $$;
grant execute on function realtime.topic() to anon, authenticated, service_role;

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
  generated_id uuid := gen_random_uuid();
  final_payload jsonb := case when payload ? 'id' then payload
                              else payload || jsonb_build_object('id', generated_id) end;
begin
  begin
    perform set_config('realtime.topic', topic, true);
    insert into realtime.messages (id, payload, event, topic, private, extension)
    values (generated_id, final_payload, event, topic, private, 'broadcast');
  exception when others then
    raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
  end;
end;
$$;

create or replace function realtime.broadcast_changes(
  topic_name text, event_name text, operation text, table_name text, table_schema text,
  new record, old record, level text default 'ROW'
) returns void
language plpgsql
as $$
declare
  row_data jsonb := '{}'::jsonb;
begin
  if level = 'STATEMENT' then
    raise exception 'function can only be triggered for each row, not for each statement';
  end if;
  if operation in ('INSERT', 'UPDATE', 'DELETE') then
    row_data := jsonb_build_object(
      'old_record', old, 'record', new, 'operation', operation,
      'table', table_name, 'schema', table_schema);
    perform realtime.send(row_data, event_name, topic_name);
  else
    raise exception 'Unexpected operation type: %', operation;
  end if;
exception when others then
  raise exception 'Failed to process the record: %', sqlerrm;
end;
$$;

-- Local delivery of database broadcasts: announce the row id after commit.
create or replace function realtime.announce_message() returns trigger
language plpgsql
as $$
begin
  if new.extension = 'broadcast' then
    perform pg_notify('realtime_messages', new.id::text);
  end if;
  return null;
end;
$$;
drop trigger if exists announce_message on realtime.messages;
create trigger announce_message after insert on realtime.messages
  for each row execute function realtime.announce_message();

-- postgres_changes: the publication hosted Realtime reads, and a local capture of its tables.
do $$
begin
  if not exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    create publication supabase_realtime;
  end if;
end;
$$;

-- Row changes waiting for the local server (it deletes each one as it delivers it).
create unlogged table if not exists realtime.changes (
  id bigint generated always as identity primary key,
  schema_name text not null,
  table_name text not null,
  operation text not null,
  record jsonb,
  old_record jsonb,
  commit_timestamp timestamptz not null default clock_timestamp()
);
alter table realtime.changes enable row level security;

create or replace function realtime.capture_change() returns trigger
language plpgsql
security definer
set search_path = ''
as $$
declare
  change_id bigint;
begin
  insert into realtime.changes (schema_name, table_name, operation, record, old_record)
  values (tg_table_schema, tg_table_name, tg_op,
          case when tg_op <> 'DELETE' then to_jsonb(new) end,
          case when tg_op <> 'INSERT' then to_jsonb(old) end)
  returning id into change_id;
  perform pg_notify('realtime_changes', change_id::text);
  return null;
end;
$$;
revoke all on function realtime.capture_change() from public;

-- Keeps one capture trigger on exactly the tables of the publication.
create or replace function realtime.sync_capture_triggers() returns void
language plpgsql
set search_path = ''
as $$
declare
  target record;
begin
  for target in
    select n.nspname as schema_name, c.relname as table_name,
           exists (select 1 from pg_catalog.pg_publication_tables p
                   where p.pubname = 'supabase_realtime'
                     and p.schemaname = n.nspname and p.tablename = c.relname) as published,
           exists (select 1 from pg_catalog.pg_trigger t
                   where t.tgrelid = c.oid and t.tgname = 'realtime_capture') as captured
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
    where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema', 'realtime')
  loop
    if target.published and not target.captured then
      execute format('create trigger realtime_capture after insert or update or delete on %I.%I '
                     'for each row execute function realtime.capture_change()',
                     target.schema_name, target.table_name);
    elsif target.captured and not target.published then
      execute format('drop trigger realtime_capture on %I.%I', target.schema_name, target.table_name);
    end if;
  end loop;
end;
$$;

create or replace function realtime.sync_capture_on_ddl() returns event_trigger
language plpgsql
as $$
begin
  perform realtime.sync_capture_triggers();
end;
$$;
drop event trigger if exists realtime_sync_capture;
create event trigger realtime_sync_capture on ddl_command_end
  when tag in ('CREATE PUBLICATION', 'ALTER PUBLICATION')
  execute function realtime.sync_capture_on_ddl();
select realtime.sync_capture_triggers();
