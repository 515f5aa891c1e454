-- Widget sessions and temporary chat links (002 conversation_session + 000 temporary links
-- and sessions). Tokens are random and stored only as SHA-256 hashes, in tables of their own
-- that no API role can read.
-- Affects: chat_links, chat_link_tokens, chat_sessions, chat_session_tokens.

create table public.chat_links (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  agent_id uuid not null references public.agents (id) on delete cascade,
  created_by uuid references auth.users (id) on delete set null,
  short_code text not null unique default encode(extensions.gen_random_bytes(6), 'hex')
    check (short_code ~ '^[A-Za-z0-9_-]{6,32}$'),
  title text not null check (char_length(title) between 1 and 200 and title !~ '[[:cntrl:]]'),
  description text not null default '' check (char_length(description) between 0 and 1000),
  welcome_message text check (char_length(welcome_message) between 1 and 2000),
  expires_at timestamptz not null,
  max_sessions integer not null default 1 check (max_sessions between 1 and 50),
  max_messages_per_session integer not null default 100 check (max_messages_per_session between 1 and 1000),
  session_timeout_minutes integer not null default 30 check (session_timeout_minutes between 5 and 1440),
  rate_limit_per_minute integer not null default 10 check (rate_limit_per_minute between 1 and 100),
  allowed_domains text[] not null default '{}',
  allowed_ips cidr[] not null default '{}',
  session_count integer not null default 0 check (session_count >= 0),
  message_count integer not null default 0 check (message_count >= 0),
  last_accessed_at timestamptz,
  is_active boolean not null default true,
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  ui_customization jsonb not null default '{}' check (jsonb_typeof(ui_customization) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (expires_at > created_at and expires_at <= created_at + interval '168 hours'),
  check (session_count <= max_sessions)
);
comment on table public.chat_links is 'Temporary chat links: time-limited rooms anonymous guests open to chat with an agent.';
create index chat_links_site_idx on public.chat_links (site_id, created_at desc);
create index chat_links_agent_idx on public.chat_links (agent_id);
create index chat_links_expiry_idx on public.chat_links (expires_at) where is_active;
create trigger chat_links_set_updated_at before update on public.chat_links
  for each row execute function public.set_updated_at();

create table public.chat_link_tokens (
  link_id uuid primary key references public.chat_links (id) on delete cascade,
  site_id uuid not null references public.sites (id) on delete cascade,
  token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$')
);
comment on table public.chat_link_tokens is 'SHA-256 of each link''s secret token. Readable by no API role.';

create table public.chat_sessions (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  customer_id uuid references public.customers (id) on delete set null,
  link_id uuid references public.chat_links (id) on delete set null,
  status text not null default 'active' check (status in ('active', 'ended')),
  end_reason text check (end_reason in ('visitor', 'timeout', 'max_messages', 'link_expired',
                                        'link_deactivated', 'operator', 'cleanup')),
  started_at timestamptz not null default now(),
  last_activity_at timestamptz not null default now(),
  ended_at timestamptz,
  timeout_minutes integer not null default 30 check (timeout_minutes between 5 and 1440),
  max_messages integer check (max_messages between 1 and 1000),
  rate_limit_per_minute integer not null default 20 check (rate_limit_per_minute between 1 and 100),
  message_count integer not null default 0 check (message_count >= 0),
  ai_message_count integer not null default 0 check (ai_message_count >= 0),
  human_message_count integer not null default 0 check (human_message_count >= 0),
  rate_window_start timestamptz not null default now(),
  rate_window_count integer not null default 0 check (rate_window_count >= 0),
  ip_address inet,
  user_agent text check (char_length(user_agent) <= 1000),
  referrer text check (char_length(referrer) <= 2000),
  country text check (country ~ '^[A-Z]{2}$'),
  rating smallint check (rating between 1 and 5),
  feedback text check (char_length(feedback) between 0 and 1000),
  check ((status = 'ended') = (ended_at is not null and end_reason is not null))
);
comment on table public.chat_sessions is 'A visitor''s or guest''s session: lifecycle, limits, counters, origin and rating.';
create index chat_sessions_conversation_idx on public.chat_sessions (conversation_id);
create index chat_sessions_link_idx on public.chat_sessions (link_id, started_at) where link_id is not null;
create index chat_sessions_active_idx on public.chat_sessions (last_activity_at) where status = 'active';
create index chat_sessions_site_started_idx on public.chat_sessions (site_id, started_at);

create table public.chat_session_tokens (
  session_id uuid primary key references public.chat_sessions (id) on delete cascade,
  site_id uuid not null references public.sites (id) on delete cascade,
  token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$')
);
comment on table public.chat_session_tokens is 'SHA-256 of each session''s resume token. Readable by no API role.';

alter table public.chat_links enable row level security;
alter table public.chat_link_tokens enable row level security;
alter table public.chat_sessions enable row level security;
alter table public.chat_session_tokens enable row level security;
-- chat_link_tokens and chat_session_tokens have no policy on purpose: only the definer
-- functions below and the service role touch them.
revoke all on public.chat_link_tokens, public.chat_session_tokens from anon, authenticated;

create policy "Members can see links" on public.chat_links
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Owners and admins can create links" on public.chat_links
  for insert to authenticated
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]) and created_by = (select auth.uid()));
create policy "Owners and admins can change links" on public.chat_links
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins can delete links" on public.chat_links
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
-- Counters belong to the functions.
revoke update on public.chat_links from anon, authenticated;
grant update (title, description, welcome_message, expires_at, max_sessions, max_messages_per_session,
              session_timeout_minutes, rate_limit_per_minute, allowed_domains, allowed_ips, is_active,
              metadata, ui_customization)
  on public.chat_links to authenticated;

create policy "Members can see sessions" on public.chat_sessions
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Guests can see their session" on public.chat_sessions
  for select to authenticated using (id = (select public.guest_session_id()));
