-- Local demo data, applied after migrations (the role of supabase/seed.sql). Idempotent.
-- The demo owner signs in to the console as owner@demo.test / demo-password, the demo operator
-- as operator@demo.test / demo-password.

insert into auth.users (id, email, encrypted_password, email_confirmed_at)
values
  ('00000000-0000-4000-8000-000000000001', 'owner@demo.test',
   extensions.crypt('demo-password', extensions.gen_salt('bf', 10)), now()),
  ('00000000-0000-4000-8000-000000000002', 'operator@demo.test',
   extensions.crypt('demo-password', extensions.gen_salt('bf', 10)), now())
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

-- The owner is a member through the site's trigger; the operator answers chats.
insert into public.site_members (site_id, user_id, role, display_name)
values ('00000000-0000-4000-8000-000000000101', '00000000-0000-4000-8000-000000000002', 'operator', 'Olivia')
on conflict (site_id, user_id) do nothing;

update public.widget_settings
set title = 'Demo Shop support',
    welcome_message = 'Hi! Welcome to Demo Shop. How can we help you today?',
    primary_color = '#0f766e'
where site_id = '00000000-0000-4000-8000-000000000101'
  and title = 'Chat with us';

-- Answers the demo gives on its own while nobody is online.
insert into public.knowledge_articles (id, site_id, title, body)
values
  ('00000000-0000-4000-8000-000000000201', '00000000-0000-4000-8000-000000000101', 'Shipping and delivery',
   'We ship worldwide. Orders leave our warehouse within one business day and arrive in 2 to 5 business days.'),
  ('00000000-0000-4000-8000-000000000202', '00000000-0000-4000-8000-000000000101', 'Returns and refunds',
   'You can return any item within 30 days for a full refund. Start a return from your order page.'),
  ('00000000-0000-4000-8000-000000000203', '00000000-0000-4000-8000-000000000101', 'Opening hours',
   'Our team answers chats Monday to Friday, 9:00 to 17:00 (Paris time).')
on conflict (id) do nothing;

-- The demo's agent persona (greets visitors; no photo).
insert into public.agents (id, site_id, name, persona)
values ('00000000-0000-4000-8000-000000000301', '00000000-0000-4000-8000-000000000101', 'Maya from Demo Shop',
        'Friendly, concise, answers in the visitor''s language.')
on conflict (id) do nothing;
