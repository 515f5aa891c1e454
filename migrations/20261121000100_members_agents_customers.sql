-- Tenancy and people: who works on a site (members with roles, operator availability),
-- AI agents, and the customers who chat.
-- Seeds: 001 permission domains + 004 operators/admins -> site_members; 000/003 agents and
-- 004 fictional profiles -> agents (personas humans may answer as); 002 customer -> customers.
-- Affects: public.sites (policies, settings), public.widget_settings (policies),
--          public.site_members, public.agents, public.customers.

-- Seed 002's auto-assignment: new conversations go to the queue's next free operator.
alter table public.widget_settings add column auto_assignment boolean not null default true;

-- Site-wide settings that are not about the widget's look.
alter table public.sites
  add column retention_days integer not null default 365 check (retention_days between 1 and 3650),
  add column credits_per_message integer not null default 0 check (credits_per_message between 0 and 1000),
  add column default_rate_limit_per_minute integer not null default 20 check (default_rate_limit_per_minute between 1 and 100);

create table public.site_members (
  site_id uuid not null references public.sites (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'operator', 'viewer')),
  display_name text check (char_length(display_name) between 1 and 80),
  avatar_url text,
  -- Operator availability (004): the assignment queue only hands chats to online operators.
  availability text not null default 'offline' check (availability in ('online', 'away', 'offline')),
  max_concurrent_chats integer not null default 5 check (max_concurrent_chats between 1 and 50),
  support_level text not null default 't1' check (support_level in ('t1', 't2', 't3', 'manager')),
  last_active_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (site_id, user_id)
);
comment on table public.site_members is 'People who work on a site: owner, admin, operator or viewer, with operator availability.';
create index site_members_user_id_idx on public.site_members (user_id);
create trigger site_members_set_updated_at before update on public.site_members
  for each row execute function public.set_updated_at();

-- Membership checks for policies. Security definer so a policy on site_members can ask about
-- site_members without recursing into its own policy; they only answer for the caller.
create or replace function public.site_role(p_site_id uuid) returns text
language sql stable security definer
set search_path = ''
as $$
  select m.role from public.site_members m where m.site_id = p_site_id and m.user_id = (select auth.uid())
$$;
comment on function public.site_role(uuid) is 'The caller''s role on the site, or null.';

create or replace function public.has_site_role(p_site_id uuid, p_roles text[]) returns boolean
language sql stable security definer
set search_path = ''
as $$
  select exists (
    select 1 from public.site_members m
    where m.site_id = p_site_id and m.user_id = (select auth.uid()) and m.role = any (p_roles)
  )
$$;
comment on function public.has_site_role(uuid, text[]) is 'Whether the caller holds one of the roles on the site.';

-- The sites the caller is a member of (optionally: holding one of p_roles). Policies compare
-- `site_id = any ((select public.member_site_ids(...))::uuid[])`: the sub-select makes it an InitPlan,
-- computed once per statement, so a policy never calls a function per row (with a per-row
-- call, the latest page of a large conversation cost 18x more at 10M messages).
create or replace function public.member_site_ids(p_roles text[] default null) returns uuid[]
language sql stable security definer
set search_path = ''
as $$
  select coalesce(array_agg(m.site_id), '{}')
  from public.site_members m
  where m.user_id = (select auth.uid()) and (p_roles is null or m.role = any (p_roles))
$$;
comment on function public.member_site_ids(text[]) is 'Sites where the caller is a member (holding one of the roles, if given).';

revoke execute on function public.site_role(uuid), public.has_site_role(uuid, text[]), public.member_site_ids(text[]) from public, anon;
grant execute on function public.site_role(uuid), public.has_site_role(uuid, text[]), public.member_site_ids(text[]) to authenticated, service_role;

-- Guest tokens (minted by the edge) carry {"guest": {site_id, conversation_id, session_id}}.
create or replace function public.guest_site_id() returns uuid
language sql stable
set search_path = ''
as $$ select nullif((select auth.jwt()) -> 'guest' ->> 'site_id', '')::uuid $$;
create or replace function public.guest_conversation_id() returns uuid
language sql stable
set search_path = ''
as $$ select nullif((select auth.jwt()) -> 'guest' ->> 'conversation_id', '')::uuid $$;
create or replace function public.guest_session_id() returns uuid
language sql stable
set search_path = ''
as $$ select nullif((select auth.jwt()) -> 'guest' ->> 'session_id', '')::uuid $$;
comment on function public.guest_conversation_id() is 'The conversation a guest token is scoped to, or null for other tokens.';

-- The creator of a site becomes its owner member.
create or replace function public.add_site_owner() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into public.site_members (site_id, user_id, role) values (new.id, new.owner_id, 'owner')
  on conflict (site_id, user_id) do update set role = 'owner';
  return new;
end;
$$;
revoke execute on function public.add_site_owner() from public, anon, authenticated;
create trigger sites_add_owner after insert on public.sites
  for each row execute function public.add_site_owner();
insert into public.site_members (site_id, user_id, role)
  select id, owner_id, 'owner' from public.sites
  on conflict (site_id, user_id) do nothing;

-- Sites and their widget settings: by membership from now on.
drop policy "Owners can see their sites" on public.sites;
drop policy "Owners can update their sites" on public.sites;
drop policy "Owners can delete their sites" on public.sites;
create policy "Members can see their sites" on public.sites
  for select to authenticated using (owner_id = (select auth.uid()) or id = any ((select public.member_site_ids())::uuid[]));
create policy "Owners and admins can update their sites" on public.sites
  for update to authenticated
  using (id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]))
  with check (id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners can delete their sites" on public.sites
  for delete to authenticated using (id = any ((select public.member_site_ids(array['owner']))::uuid[]));

drop policy "Owners can see their widget settings" on public.widget_settings;
drop policy "Owners can create their widget settings" on public.widget_settings;
drop policy "Owners can update their widget settings" on public.widget_settings;
create policy "Members can see their widget settings" on public.widget_settings
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Owners and admins can create widget settings" on public.widget_settings
  for insert to authenticated with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can update widget settings" on public.widget_settings
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));

-- The default settings row is created for the new site's owner, who is a member only once
-- the owner trigger ran; create it as the definer instead of relying on trigger order.
alter function public.create_default_widget_settings() security definer;

alter table public.site_members enable row level security;
create policy "Members can see who works on their sites" on public.site_members
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Owners and admins can add members" on public.site_members
  for insert to authenticated
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]) and role <> 'owner');
create policy "Owners and admins can change members, members their own availability" on public.site_members
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]) or user_id = (select auth.uid()))
  with check (
    site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[])
    or (user_id = (select auth.uid()) and role = (select public.site_role(site_id)))
  );
create policy "Owners and admins can remove members" on public.site_members
  for delete to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]) and role <> 'owner');

create table public.agents (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 80),
  persona text not null default '' check (char_length(persona) <= 4000),
  system_prompt text not null default '' check (char_length(system_prompt) <= 20000),
  model text not null default 'gpt-4o-mini' check (char_length(model) between 1 and 100),
  avatar_url text,
  is_active boolean not null default true,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.agents is 'AI agents (and personas humans may answer as) that chat for a site.';
create index agents_site_id_idx on public.agents (site_id);
create trigger agents_set_updated_at before update on public.agents
  for each row execute function public.set_updated_at();
alter table public.agents enable row level security;
create policy "Members can see agents" on public.agents
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Owners and admins can create agents" on public.agents
  for insert to authenticated with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can update agents" on public.agents
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can delete agents" on public.agents
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));

create table public.customers (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  name text check (char_length(name) between 1 and 120),
  email text check (email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' and char_length(email) <= 255),
  phone text check (phone ~ '^\+[1-9][0-9]{1,14}$'),
  avatar_url text,
  timezone text not null default 'UTC',
  language text not null default 'en' check (language ~ '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$'),
  is_online boolean not null default false,
  last_seen_at timestamptz,
  -- 002 customer_profile: company, job title, notes... as owner-defined data.
  profile jsonb not null default '{}' check (jsonb_typeof(profile) = 'object'),
  custom_fields jsonb not null default '{}' check (jsonb_typeof(custom_fields) = 'object'),
  -- 004 credits: the ledger keeps the history; this is its running total, never negative.
  credit_balance integer not null default 0 check (credit_balance >= 0),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.customers is 'People who chat with a site (widget visitors, link guests, SMS senders).';
create unique index customers_site_email_key on public.customers (site_id, lower(email)) where email is not null;
create index customers_site_phone_idx on public.customers (site_id, phone) where phone is not null;
create trigger customers_set_updated_at before update on public.customers
  for each row execute function public.set_updated_at();
alter table public.customers enable row level security;
create policy "Members can see their customers" on public.customers
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Guests can see themselves" on public.customers
  for select to authenticated
  using (site_id = (select public.guest_site_id()) and id::text = (select auth.uid())::text);
create policy "Operators can update their customers" on public.customers
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));
create policy "Owners and admins can delete customers" on public.customers
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
-- Balances change only through the credit ledger, never by a direct update from the API.
revoke update on public.customers from anon, authenticated;
grant update (name, email, phone, avatar_url, timezone, language, profile, custom_fields)
  on public.customers to authenticated;
