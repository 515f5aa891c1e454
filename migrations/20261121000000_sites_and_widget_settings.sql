-- Sites and their widget settings: the first tenant-scoped tables.
-- Affects: public.sites, public.widget_settings, public.widget_config(text).

-- updated_at maintenance shared by every table that has the column.
create or replace function public.set_updated_at() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

create table public.sites (
  id uuid primary key default gen_random_uuid(),
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  name text not null check (char_length(name) between 1 and 200),
  site_key text not null unique
    default encode(extensions.gen_random_bytes(12), 'hex')
    check (site_key ~ '^[a-z0-9][a-z0-9_-]{3,63}$'),
  allowed_origins text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.sites is 'A customer website that embeds the widget; site_key is public (the embed script''s data-site).';
create index sites_owner_id_idx on public.sites (owner_id);
create trigger sites_set_updated_at before update on public.sites
  for each row execute function public.set_updated_at();

create table public.widget_settings (
  site_id uuid primary key references public.sites (id) on delete cascade,
  enabled boolean not null default true,
  title text not null default 'Chat with us' check (char_length(title) between 1 and 80),
  welcome_message text not null default 'Hi! How can we help you today?'
    check (char_length(welcome_message) between 1 and 2000),
  offline_message text not null default 'We are offline right now. Leave a message and we will get back to you.'
    check (char_length(offline_message) between 1 and 2000),
  primary_color text not null default '#3b82f6' check (primary_color ~ '^#[0-9a-fA-F]{6}$'),
  text_color text not null default '#1f2937' check (text_color ~ '^#[0-9a-fA-F]{6}$'),
  background_color text not null default '#ffffff' check (background_color ~ '^#[0-9a-fA-F]{6}$'),
  position text not null default 'bottom-right' check (position in ('bottom-right', 'bottom-left')),
  show_agent_photos boolean not null default true,
  show_typing_indicator boolean not null default true,
  enable_file_upload boolean not null default true,
  enable_emojis boolean not null default true,
  max_file_size_bytes bigint not null default 10485760 check (max_file_size_bytes between 0 and 52428800),
  allowed_file_types text[] not null default array['image/*', 'application/pdf', '.doc', '.docx'],
  require_name boolean not null default true,
  require_email boolean not null default true,
  require_phone boolean not null default false,
  timezone text not null default 'UTC',
  business_hours jsonb check (business_hours is null or jsonb_typeof(business_hours) = 'object'),
  custom_fields jsonb not null default '[]' check (jsonb_typeof(custom_fields) = 'array'),
  ui_customization jsonb not null default '{}' check (jsonb_typeof(ui_customization) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.widget_settings is 'Look and behaviour of a site''s chat widget (one row per site).';
create trigger widget_settings_set_updated_at before update on public.widget_settings
  for each row execute function public.set_updated_at();

-- Every site starts with default settings. Runs as the inserting user, so the insert policy below applies.
create or replace function public.create_default_widget_settings() returns trigger
language plpgsql
set search_path = ''
as $$
begin
  insert into public.widget_settings (site_id) values (new.id);
  return new;
end;
$$;
create trigger sites_create_widget_settings after insert on public.sites
  for each row execute function public.create_default_widget_settings();

alter table public.sites enable row level security;
alter table public.widget_settings enable row level security;

create policy "Owners can see their sites" on public.sites
  for select to authenticated using ((select auth.uid()) = owner_id);
create policy "Users can create sites they own" on public.sites
  for insert to authenticated with check ((select auth.uid()) = owner_id);
create policy "Owners can update their sites" on public.sites
  for update to authenticated using ((select auth.uid()) = owner_id) with check ((select auth.uid()) = owner_id);
create policy "Owners can delete their sites" on public.sites
  for delete to authenticated using ((select auth.uid()) = owner_id);

create policy "Owners can see their widget settings" on public.widget_settings
  for select to authenticated
  using (exists (select 1 from public.sites s where s.id = site_id and s.owner_id = (select auth.uid())));
create policy "Owners can create their widget settings" on public.widget_settings
  for insert to authenticated
  with check (exists (select 1 from public.sites s where s.id = site_id and s.owner_id = (select auth.uid())));
create policy "Owners can update their widget settings" on public.widget_settings
  for update to authenticated
  using (exists (select 1 from public.sites s where s.id = site_id and s.owner_id = (select auth.uid())))
  with check (exists (select 1 from public.sites s where s.id = site_id and s.owner_id = (select auth.uid())));

-- The public part of one site's settings, by its public key.
-- Security definer because anonymous visitors must read exactly one site's public settings
-- without being able to list sites (no select policy for anon exists on either table).
create or replace function public.widget_config(site_key text) returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select jsonb_build_object(
    'site_key', s.site_key,
    'site_name', s.name,
    'enabled', w.enabled,
    'title', w.title,
    'welcome_message', w.welcome_message,
    'offline_message', w.offline_message,
    'theme', jsonb_build_object(
      'primary_color', w.primary_color,
      'text_color', w.text_color,
      'background_color', w.background_color
    ),
    'position', w.position,
    'show_agent_photos', w.show_agent_photos,
    'show_typing_indicator', w.show_typing_indicator,
    'enable_file_upload', w.enable_file_upload,
    'enable_emojis', w.enable_emojis,
    'max_file_size_bytes', w.max_file_size_bytes,
    'allowed_file_types', to_jsonb(w.allowed_file_types),
    'require_name', w.require_name,
    'require_email', w.require_email,
    'require_phone', w.require_phone,
    'timezone', w.timezone,
    'business_hours', w.business_hours,
    'custom_fields', w.custom_fields
  )
  from public.sites s
  join public.widget_settings w on w.site_id = s.id
  where s.site_key = widget_config.site_key
$$;
comment on function public.widget_config(text) is 'Public widget settings of the site with this site_key, or null.';
revoke execute on function public.widget_config(text) from public;
grant execute on function public.widget_config(text) to anon, authenticated, service_role;

-- Trigger functions are not API: keep them out of /rest/v1/rpc.
revoke execute on function public.set_updated_at() from public, anon, authenticated;
revoke execute on function public.create_default_widget_settings() from public, anon, authenticated;
