-- Knowledge articles for automatic answers, the SMS channel (003), and the customer credit
-- ledger (004 transactions).
-- Affects: knowledge_articles, sms_settings, sms_conversations, credit_ledger,
--          normalize_phone(text), search_knowledge(uuid, text, integer).

create table public.knowledge_articles (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  title text not null check (char_length(title) between 1 and 200),
  body text not null check (char_length(body) between 1 and 20000),
  tags text[] not null default '{}',
  is_published boolean not null default true,
  search tsvector generated always as (
    setweight(to_tsvector('english'::regconfig, title), 'A') || setweight(to_tsvector('english'::regconfig, body), 'B')
  ) stored,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.knowledge_articles is 'Articles the edge answers visitors from when no operator is assigned (full-text search).';
create index knowledge_articles_search_idx on public.knowledge_articles using gin (search);
create index knowledge_articles_site_idx on public.knowledge_articles (site_id) where is_published;
create trigger knowledge_articles_set_updated_at before update on public.knowledge_articles
  for each row execute function public.set_updated_at();

alter table public.knowledge_articles enable row level security;
create policy "Members can see articles" on public.knowledge_articles
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Guests can see their site's published articles" on public.knowledge_articles
  for select to authenticated using (is_published and site_id = (select public.guest_site_id()));
create policy "Owners and admins can write articles" on public.knowledge_articles
  for insert to authenticated with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can edit articles" on public.knowledge_articles
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can delete articles" on public.knowledge_articles
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));

-- The best matching published articles of a site for a visitor's question, by rank. Any
-- word may match (a question rarely uses every word of the answer); English stemming and stop
-- words apply. The caller decides the threshold. Invoker: RLS decides what is seen.
create or replace function public.search_knowledge(p_site_id uuid, p_query text, p_limit integer default 3)
returns table (id uuid, title text, body text, rank real)
language sql stable
set search_path = ''
as $$
  with q as (
    select nullif(replace(plainto_tsquery('english'::regconfig, coalesce(p_query, ''))::text, ' & ', ' | '), '')::tsquery as query
  )
  select a.id, a.title, a.body, ts_rank(a.search, q.query) as rank
  from public.knowledge_articles a, q
  where q.query is not null and a.site_id = p_site_id and a.is_published and a.search @@ q.query
  order by rank desc, a.updated_at desc
  limit least(greatest(p_limit, 1), 10)
$$;

-- E.164: strip formatting, accept a leading 00 for +, refuse anything else.
create or replace function public.normalize_phone(p_input text) returns text
language plpgsql immutable
set search_path = ''
as $$
declare
  digits text := regexp_replace(coalesce(p_input, ''), '[^0-9+]', '', 'g');
begin
  if digits like '00%' then
    digits := '+' || substr(digits, 3);
  elsif digits ~ '^[0-9]' then
    digits := '+' || digits;
  end if;
  if digits !~ '^\+[1-9][0-9]{1,14}$' then
    raise exception 'invalid phone number: %', p_input using errcode = '22023';
  end if;
  return digits;
end;
$$;

create table public.sms_settings (
  agent_id uuid primary key references public.agents (id) on delete cascade,
  site_id uuid not null references public.sites (id) on delete cascade,
  enabled boolean not null default false,
  auto_respond boolean not null default true,
  welcome_message text not null default 'Hello! How can we help you today?' check (char_length(welcome_message) between 1 and 2000),
  response_timeout_minutes integer not null default 30 check (response_timeout_minutes between 1 and 1440),
  max_daily_conversations integer not null default 50 check (max_daily_conversations between 1 and 1000),
  rate_limit_per_hour integer not null default 10 check (rate_limit_per_hour between 1 and 100),
  blacklisted_numbers text[] not null default '{}'
    check (array_to_string(blacklisted_numbers, ',') ~ '^(\+[1-9][0-9]{1,14}(,\+[1-9][0-9]{1,14})*)?$'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.sms_settings is 'Per-agent SMS channel settings: limits and blacklist (E.164 numbers).';
create trigger sms_settings_set_updated_at before update on public.sms_settings
  for each row execute function public.set_updated_at();

create table public.sms_conversations (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  agent_id uuid not null references public.agents (id) on delete cascade,
  phone_number text not null check (phone_number ~ '^\+[1-9][0-9]{1,14}$'),
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  session_id uuid references public.chat_sessions (id) on delete set null,
  message_count integer not null default 0 check (message_count >= 0),
  hour_window_start timestamptz not null default now(),
  hour_window_count integer not null default 0 check (hour_window_count >= 0),
  last_message_at timestamptz,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.sms_conversations is 'Which conversation an SMS sender''s messages to an agent go to.';
create unique index sms_conversations_active_key on public.sms_conversations (agent_id, phone_number) where is_active;
create index sms_conversations_agent_day_idx on public.sms_conversations (agent_id, created_at);
create trigger sms_conversations_set_updated_at before update on public.sms_conversations
  for each row execute function public.set_updated_at();

alter table public.sms_settings enable row level security;
alter table public.sms_conversations enable row level security;
create policy "Members can see SMS settings" on public.sms_settings
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Owners and admins can create SMS settings" on public.sms_settings
  for insert to authenticated with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can change SMS settings" on public.sms_settings
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can delete SMS settings" on public.sms_settings
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Members can see SMS conversations" on public.sms_conversations
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));

create table public.credit_ledger (
  id bigint generated always as identity primary key,
  site_id uuid not null references public.sites (id) on delete cascade,
  customer_id uuid not null references public.customers (id) on delete cascade,
  amount integer not null check (amount <> 0),
  reason text not null check (reason in ('purchase', 'message', 'refund', 'adjustment')),
  reference text check (char_length(reference) <= 200),
  message_id uuid references public.messages (id) on delete set null,
  balance_after integer not null check (balance_after >= 0),
  created_at timestamptz not null default now()
);
comment on table public.credit_ledger is 'Every change of a customer''s credits; customers.credit_balance is its running total.';
create index credit_ledger_customer_idx on public.credit_ledger (customer_id, created_at);
create unique index credit_ledger_purchase_reference_key on public.credit_ledger (site_id, reference) where reason = 'purchase';

-- Apply an entry to the balance; the CHECK on customers refuses going below zero.
create or replace function public.apply_credit_entry() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  update public.customers set credit_balance = credit_balance + new.amount
  where id = new.customer_id
  returning credit_balance into new.balance_after;
  if not found then
    raise exception 'no such customer' using errcode = '23503';
  end if;
  return new;
end;
$$;
revoke execute on function public.apply_credit_entry() from public, anon, authenticated;
create trigger credit_ledger_apply before insert on public.credit_ledger
  for each row execute function public.apply_credit_entry();

alter table public.credit_ledger enable row level security;
create policy "Owners and admins can see the ledger" on public.credit_ledger
  for select to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Guests can see their own credits" on public.credit_ledger
  for select to authenticated
  using (site_id = (select public.guest_site_id()) and customer_id::text = (select auth.uid())::text);
