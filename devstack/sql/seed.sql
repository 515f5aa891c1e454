-- Local demo data, applied after migrations (the role of supabase/seed.sql). Idempotent.
-- The demo owner signs in to the console as owner@demo.test / demo-password.

insert into auth.users (id, email, encrypted_password, email_confirmed_at)
values (
  '00000000-0000-4000-8000-000000000001',
  'owner@demo.test',
  extensions.crypt('demo-password', extensions.gen_salt('bf', 10)),
  now()
)
on conflict (id) do nothing;

insert into public.sites (id, owner_id, name, site_key, allowed_origins)
values (
  '00000000-0000-4000-8000-000000000101',
  '00000000-0000-4000-8000-000000000001',
  'Demo Shop',
  'demo-site',
  array['http://127.0.0.1:8080', 'http://localhost:8080']
)
on conflict (id) do nothing;

update public.widget_settings
set title = 'Demo Shop support',
    welcome_message = 'Hi! Welcome to Demo Shop. How can we help you today?',
    primary_color = '#0f766e'
where site_id = '00000000-0000-4000-8000-000000000101'
  and title = 'Chat with us';
