-- Conversations and messages (002 chat/message + 001 rooms/participants/attachments/robot
-- interactions/escalations/audit + 004 assignments + 002 notifications).
-- Affects: conversations, conversation_participants, messages, message_attachments,
--          message_history, bot_interactions, escalations, conversation_assignments,
--          operator_notifications, operator_daily_stats.
--
-- Messages are one table, not monthly partitions (001 suggests partitions). The two hot
-- queries are index range scans whatever the table size: the latest page of a conversation
-- walks (conversation_id, seq) backwards, and the inbox reads conversations, not messages.
-- A partitioned table cannot enforce `client_msg_id` unique per conversation across months
-- (unique indexes must contain the partition key), and a retry that crosses a month boundary
-- would duplicate a message. Retention purges in batches by the created_at index instead of
-- dropping partitions; see the closing note of the schema issue for plans on 10M rows.

create table public.conversations (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  customer_id uuid references public.customers (id) on delete set null,
  agent_id uuid references public.agents (id) on delete set null,
  source text not null default 'widget' check (source in ('widget', 'link', 'sms', 'email', 'api')),
  status text not null default 'waiting' check (status in ('waiting', 'active', 'closed')),
  priority text not null default 'medium' check (priority in ('low', 'medium', 'high', 'urgent')),
  subject text check (char_length(subject) <= 200),
  assigned_operator_id uuid references auth.users (id) on delete set null,
  assigned_at timestamptz,
  escalation_level text not null default 't1' check (escalation_level in ('t1', 't2', 't3', 'manager')),
  parent_conversation_id uuid references public.conversations (id) on delete set null,
  tags text[] not null default '{}',
  message_count integer not null default 0 check (message_count >= 0),
  unread_count integer not null default 0 check (unread_count >= 0),
  last_message_at timestamptz,
  last_customer_message_at timestamptz,
  first_response_seconds integer check (first_response_seconds >= 0),
  avg_response_seconds integer check (avg_response_seconds >= 0),
  response_count integer not null default 0 check (response_count >= 0),
  csat smallint check (csat between 1 and 5),
  reassignment_count integer not null default 0 check (reassignment_count >= 0),
  needs_review boolean not null default false,
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  closed_at timestamptz,
  check ((status = 'closed') = (closed_at is not null))
);
comment on table public.conversations is 'One chat between a customer and a site, through any channel.';
-- The assignment queue: oldest waiting conversation of a site.
create index conversations_queue_idx on public.conversations (site_id, created_at) where status = 'waiting';
-- The operator inbox: a site's open conversations, most recent first.
create index conversations_inbox_idx on public.conversations (site_id, last_message_at desc nulls last) where status <> 'closed';
create index conversations_operator_idx on public.conversations (assigned_operator_id, last_message_at desc) where status = 'active';
create index conversations_customer_idx on public.conversations (customer_id);
create trigger conversations_set_updated_at before update on public.conversations
  for each row execute function public.set_updated_at();

create table public.conversation_participants (
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  site_id uuid not null references public.sites (id) on delete cascade,
  user_id uuid references auth.users (id) on delete cascade,
  customer_id uuid references public.customers (id) on delete cascade,
  role text not null check (role in ('customer', 'operator', 'observer', 'agent')),
  joined_at timestamptz not null default now(),
  last_read_at timestamptz,
  left_at timestamptz,
  check ((user_id is null) <> (customer_id is null))
);
comment on table public.conversation_participants is 'Who takes part in a conversation, and what they last read.';
create unique index conversation_participants_user_key on public.conversation_participants (conversation_id, user_id) where user_id is not null;
create unique index conversation_participants_customer_key on public.conversation_participants (conversation_id, customer_id) where customer_id is not null;
create index conversation_participants_user_idx on public.conversation_participants (user_id) where user_id is not null;

create table public.messages (
  id uuid primary key default gen_random_uuid(),
  -- A global order: the cursor of `GET /v1/messages?after=`.
  seq bigint generated always as identity unique,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  site_id uuid not null references public.sites (id) on delete cascade,
  session_id uuid,
  sender_type text not null check (sender_type in ('customer', 'operator', 'ai', 'system')),
  sender_user_id uuid references auth.users (id) on delete set null,
  -- Erasing a customer (GDPR) erases what they wrote; operators' replies stay.
  sender_customer_id uuid references public.customers (id) on delete cascade,
  agent_id uuid references public.agents (id) on delete set null,
  message_type text not null default 'text'
    check (message_type in ('text', 'image', 'file', 'audio', 'video', 'system')),
  content text not null check (char_length(content) between 1 and 5000),
  metadata jsonb not null default '{}' check (jsonb_typeof(metadata) = 'object'),
  ai_model text,
  ai_prompt_tokens integer check (ai_prompt_tokens >= 0),
  ai_completion_tokens integer check (ai_completion_tokens >= 0),
  client_msg_id uuid,
  reply_to_id uuid references public.messages (id) on delete set null,
  thread_root_id uuid references public.messages (id) on delete set null,
  delivered_at timestamptz,
  read_at timestamptz,
  edited_at timestamptz,
  deleted_at timestamptz,
  created_at timestamptz not null default now(),
  check (sender_type <> 'operator' or sender_user_id is not null),
  check (sender_type <> 'customer' or sender_customer_id is not null)
);
comment on table public.messages is 'Every message of every conversation; content is plain text, 1-5000 characters.';
create unique index messages_client_msg_id_key on public.messages (conversation_id, client_msg_id) where client_msg_id is not null;
-- The latest page of a conversation, and pages after a cursor.
create index messages_conversation_seq_idx on public.messages (conversation_id, seq desc);
-- Conversations differ wildly in length; a larger sample lets the planner recognise long ones.
alter table public.messages alter column conversation_id set statistics 1000;
create index messages_created_at_idx on public.messages (created_at);
create index messages_session_idx on public.messages (session_id, created_at) where session_id is not null;

create table public.message_attachments (
  id uuid primary key default gen_random_uuid(),
  message_id uuid not null references public.messages (id) on delete cascade,
  site_id uuid not null references public.sites (id) on delete cascade,
  storage_path text not null check (char_length(storage_path) between 1 and 1024),
  file_name text not null check (char_length(file_name) between 1 and 255),
  mime_type text not null check (char_length(mime_type) between 3 and 255),
  size_bytes bigint not null check (size_bytes between 0 and 52428800),
  thumbnail_path text,
  created_at timestamptz not null default now()
);
comment on table public.message_attachments is 'Metadata of files attached to messages (the bytes live in object storage).';
create index message_attachments_message_idx on public.message_attachments (message_id);

create table public.message_history (
  id bigint generated always as identity primary key,
  message_id uuid not null,
  site_id uuid not null references public.sites (id) on delete cascade,
  operation text not null check (operation in ('update', 'delete')),
  old_content text not null,
  old_metadata jsonb not null,
  changed_by uuid,
  changed_at timestamptz not null default now()
);
comment on table public.message_history is 'Audit trail: every edit and deletion of a message, with the content before it.';
create index message_history_message_idx on public.message_history (message_id, changed_at);

create table public.bot_interactions (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  message_id uuid references public.messages (id) on delete set null,
  agent_id uuid references public.agents (id) on delete set null,
  kind text not null check (kind in ('ai_reply', 'knowledge_answer', 'away_message', 'handoff')),
  request jsonb not null default '{}',
  response jsonb,
  status text not null default 'pending' check (status in ('pending', 'processing', 'completed', 'failed')),
  error_message text,
  started_at timestamptz not null default now(),
  completed_at timestamptz
);
comment on table public.bot_interactions is 'Each automatic answer attempt (AI reply, knowledge answer, away message) and its outcome.';
create index bot_interactions_conversation_idx on public.bot_interactions (conversation_id, started_at);

create table public.escalations (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  target_conversation_id uuid references public.conversations (id) on delete set null,
  from_level text not null check (from_level in ('t1', 't2', 't3', 'manager')),
  to_level text not null check (to_level in ('t1', 't2', 't3', 'manager')),
  reason text not null check (char_length(reason) between 1 and 2000),
  priority smallint not null default 3 check (priority between 1 and 5),
  created_by uuid references auth.users (id) on delete set null,
  assigned_to uuid references auth.users (id) on delete set null,
  status text not null default 'created' check (status in ('created', 'assigned', 'in_progress', 'resolved', 'cancelled')),
  resolution_notes text,
  resolved_at timestamptz,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  check (array_position(array['t1', 't2', 't3', 'manager'], to_level)
         > array_position(array['t1', 't2', 't3', 'manager'], from_level))
);
comment on table public.escalations is 'Hand-offs up the support ladder T1 -> T2 -> T3 -> manager.';
create index escalations_conversation_idx on public.escalations (conversation_id);
create index escalations_open_idx on public.escalations (site_id, to_level, created_at) where status in ('created', 'assigned', 'in_progress');
create trigger escalations_set_updated_at before update on public.escalations
  for each row execute function public.set_updated_at();

create table public.conversation_assignments (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  conversation_id uuid not null references public.conversations (id) on delete cascade,
  operator_id uuid not null references auth.users (id) on delete cascade,
  assigned_at timestamptz not null default now(),
  -- 004 operator_activity: the operator's last action in this conversation (idle detection).
  last_activity_at timestamptz not null default now(),
  released_at timestamptz,
  release_reason text check (release_reason in ('idle', 'transfer', 'closed', 'operator_offline', 'manual', 'escalated')),
  check ((released_at is null) = (release_reason is null))
);
comment on table public.conversation_assignments is 'Assignment history: who held a conversation, when, and why it was released.';
create unique index conversation_assignments_open_key on public.conversation_assignments (conversation_id) where released_at is null;
create index conversation_assignments_idle_idx on public.conversation_assignments (last_activity_at) where released_at is null;
create index conversation_assignments_operator_idx on public.conversation_assignments (operator_id, assigned_at);

create table public.operator_notifications (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  conversation_id uuid references public.conversations (id) on delete cascade,
  type text not null check (type in ('new_message', 'chat_assigned', 'chat_transferred', 'customer_waiting',
                                     'chat_resolved', 'mention', 'escalation', 'system_alert')),
  title text not null check (char_length(title) between 1 and 200),
  body text not null check (char_length(body) <= 2000),
  action_url text,
  read_at timestamptz,
  created_at timestamptz not null default now()
);
comment on table public.operator_notifications is 'Notifications for operators (new chat, assignment, escalation...).';
create index operator_notifications_user_idx on public.operator_notifications (user_id, created_at desc) where read_at is null;

create table public.operator_daily_stats (
  site_id uuid not null references public.sites (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  day date not null,
  messages_sent integer not null default 0 check (messages_sent >= 0),
  conversations_handled integer not null default 0 check (conversations_handled >= 0),
  avg_response_seconds integer check (avg_response_seconds >= 0),
  idle_incidents integer not null default 0 check (idle_incidents >= 0),
  primary key (site_id, user_id, day)
);
comment on table public.operator_daily_stats is 'Per operator and day: messages, conversations, response time, idle incidents.';

-- Row Level Security. Members see their sites' rows; operators (and admins, owners) work them;
-- a guest token sees exactly its own conversation. Writes that must respect limits go through
-- the functions of the next migrations, so guests get no direct write policies.
alter table public.conversations enable row level security;
alter table public.conversation_participants enable row level security;
alter table public.messages enable row level security;
alter table public.message_attachments enable row level security;
alter table public.message_history enable row level security;
alter table public.bot_interactions enable row level security;
alter table public.escalations enable row level security;
alter table public.conversation_assignments enable row level security;
alter table public.operator_notifications enable row level security;
alter table public.operator_daily_stats enable row level security;

create policy "Members can see conversations" on public.conversations
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Guests can see their conversation" on public.conversations
  for select to authenticated using (id = (select public.guest_conversation_id()));
create policy "Operators can update conversations" on public.conversations
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));
create policy "Owners and admins can delete conversations" on public.conversations
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));

create policy "Members can see participants" on public.conversation_participants
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Guests can see their conversation's participants" on public.conversation_participants
  for select to authenticated using (conversation_id = (select public.guest_conversation_id()));

create policy "Members can see messages" on public.messages
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Guests can see their conversation's messages" on public.messages
  for select to authenticated
  using (conversation_id = (select public.guest_conversation_id()) and deleted_at is null);
create policy "Operators can reply as themselves" on public.messages
  for insert to authenticated
  with check (
    site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[])
    and sender_type = 'operator'
    and sender_user_id = (select auth.uid())
    and exists (select 1 from public.conversations c where c.id = conversation_id and c.site_id = messages.site_id)
  );
create policy "Operators can edit their messages, admins any" on public.messages
  for update to authenticated
  using (
    (sender_user_id = (select auth.uid()) and site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]))
    or site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[])
  )
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));

create policy "Members can see attachments" on public.message_attachments
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Guests can see their conversation's attachments" on public.message_attachments
  for select to authenticated
  using (exists (select 1 from public.messages m
                 where m.id = message_id and m.conversation_id = (select public.guest_conversation_id())));
create policy "Operators can attach files" on public.message_attachments
  for insert to authenticated
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));
create policy "Owners and admins can delete attachments" on public.message_attachments
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));

create policy "Owners and admins can read the message audit trail" on public.message_history
  for select to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));

create policy "Staff can see bot interactions" on public.bot_interactions
  for select to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));

create policy "Members can see escalations" on public.escalations
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
create policy "Operators can escalate" on public.escalations
  for insert to authenticated
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]) and created_by = (select auth.uid()));
create policy "Operators can work escalations" on public.escalations
  for update to authenticated
  using (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]))
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin', 'operator']))::uuid[]));

create policy "Members can see assignment history" on public.conversation_assignments
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));

create policy "Operators can see their notifications" on public.operator_notifications
  for select to authenticated using (user_id = (select auth.uid()));
create policy "Operators can mark their notifications read" on public.operator_notifications
  for update to authenticated using (user_id = (select auth.uid())) with check (user_id = (select auth.uid()));
create policy "Operators can delete their notifications" on public.operator_notifications
  for delete to authenticated using (user_id = (select auth.uid()));

create policy "Operators see their stats, owners and admins everyone's" on public.operator_daily_stats
  for select to authenticated
  using (user_id = (select auth.uid()) or site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));

-- Counters, senders and sites are maintained by triggers and functions: the API may change
-- only the columns a person edits.
revoke update on public.messages from anon, authenticated;
grant update (content, metadata, edited_at, deleted_at) on public.messages to authenticated;
revoke update on public.conversations from anon, authenticated;
grant update (status, priority, subject, tags, metadata, closed_at) on public.conversations to authenticated;
