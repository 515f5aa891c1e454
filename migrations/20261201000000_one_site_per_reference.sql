-- One site per reference, by construction. Insert and update policies check only a row's own
-- site_id, so a member of one site could point a row of theirs at another site's agent,
-- customer, conversation, message, link or session (an outside review did, through
-- /rest/v1). Now every reference between two site-scoped tables carries the site:
-- `(site_id, x_id) references x (site_id, id)`, and the database itself refuses a row whose
-- references belong to another site, whoever writes it (service role included).
-- `on delete set null (x_id)` clears only the reference, never the row's site.
-- A database holding such rows already fails here, naming the constraint: those rows were
-- written by an attack and must be looked at by a person, not rewritten by a migration.
-- Affects: agents, customers, conversations, messages, chat_links, chat_sessions (a unique
-- key on (site_id, id) each); every foreign key between them and the tables that point at
-- them; messages.session_id (now a reference).

alter table public.agents add constraint agents_site_id_id_key unique (site_id, id);
alter table public.customers add constraint customers_site_id_id_key unique (site_id, id);
alter table public.conversations add constraint conversations_site_id_id_key unique (site_id, id);
alter table public.messages add constraint messages_site_id_id_key unique (site_id, id);
alter table public.chat_links add constraint chat_links_site_id_id_key unique (site_id, id);
alter table public.chat_sessions add constraint chat_sessions_site_id_id_key unique (site_id, id);

alter table public.conversations
  drop constraint conversations_agent_id_fkey,
  drop constraint conversations_customer_id_fkey,
  drop constraint conversations_parent_conversation_id_fkey,
  add constraint conversations_agent_id_fkey foreign key (site_id, agent_id)
    references public.agents (site_id, id) on delete set null (agent_id),
  add constraint conversations_customer_id_fkey foreign key (site_id, customer_id)
    references public.customers (site_id, id) on delete set null (customer_id),
  add constraint conversations_parent_conversation_id_fkey foreign key (site_id, parent_conversation_id)
    references public.conversations (site_id, id) on delete set null (parent_conversation_id);

alter table public.conversation_participants
  drop constraint conversation_participants_conversation_id_fkey,
  drop constraint conversation_participants_customer_id_fkey,
  add constraint conversation_participants_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade,
  add constraint conversation_participants_customer_id_fkey foreign key (site_id, customer_id)
    references public.customers (site_id, id) on delete cascade;

alter table public.messages
  drop constraint messages_agent_id_fkey,
  drop constraint messages_conversation_id_fkey,
  drop constraint messages_reply_to_id_fkey,
  drop constraint messages_sender_customer_id_fkey,
  drop constraint messages_thread_root_id_fkey,
  add constraint messages_agent_id_fkey foreign key (site_id, agent_id)
    references public.agents (site_id, id) on delete set null (agent_id),
  add constraint messages_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade,
  add constraint messages_reply_to_id_fkey foreign key (site_id, reply_to_id)
    references public.messages (site_id, id) on delete set null (reply_to_id),
  add constraint messages_sender_customer_id_fkey foreign key (site_id, sender_customer_id)
    references public.customers (site_id, id) on delete cascade,
  add constraint messages_thread_root_id_fkey foreign key (site_id, thread_root_id)
    references public.messages (site_id, id) on delete set null (thread_root_id),
  add constraint messages_session_id_fkey foreign key (site_id, session_id)
    references public.chat_sessions (site_id, id) on delete set null (session_id);

alter table public.message_attachments
  drop constraint message_attachments_message_id_fkey,
  add constraint message_attachments_message_id_fkey foreign key (site_id, message_id)
    references public.messages (site_id, id) on delete cascade;

alter table public.bot_interactions
  drop constraint bot_interactions_agent_id_fkey,
  drop constraint bot_interactions_conversation_id_fkey,
  drop constraint bot_interactions_message_id_fkey,
  add constraint bot_interactions_agent_id_fkey foreign key (site_id, agent_id)
    references public.agents (site_id, id) on delete set null (agent_id),
  add constraint bot_interactions_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade,
  add constraint bot_interactions_message_id_fkey foreign key (site_id, message_id)
    references public.messages (site_id, id) on delete set null (message_id);

alter table public.escalations
  drop constraint escalations_conversation_id_fkey,
  drop constraint escalations_target_conversation_id_fkey,
  add constraint escalations_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade,
  add constraint escalations_target_conversation_id_fkey foreign key (site_id, target_conversation_id)
    references public.conversations (site_id, id) on delete set null (target_conversation_id);

alter table public.conversation_assignments
  drop constraint conversation_assignments_conversation_id_fkey,
  add constraint conversation_assignments_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade;

alter table public.operator_notifications
  drop constraint operator_notifications_conversation_id_fkey,
  add constraint operator_notifications_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade;

alter table public.chat_links
  drop constraint chat_links_agent_id_fkey,
  add constraint chat_links_agent_id_fkey foreign key (site_id, agent_id)
    references public.agents (site_id, id) on delete cascade;

alter table public.chat_link_tokens
  drop constraint chat_link_tokens_link_id_fkey,
  add constraint chat_link_tokens_link_id_fkey foreign key (site_id, link_id)
    references public.chat_links (site_id, id) on delete cascade;

alter table public.chat_sessions
  drop constraint chat_sessions_conversation_id_fkey,
  drop constraint chat_sessions_customer_id_fkey,
  drop constraint chat_sessions_link_id_fkey,
  add constraint chat_sessions_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade,
  add constraint chat_sessions_customer_id_fkey foreign key (site_id, customer_id)
    references public.customers (site_id, id) on delete set null (customer_id),
  add constraint chat_sessions_link_id_fkey foreign key (site_id, link_id)
    references public.chat_links (site_id, id) on delete set null (link_id);

alter table public.chat_session_tokens
  drop constraint chat_session_tokens_session_id_fkey,
  add constraint chat_session_tokens_session_id_fkey foreign key (site_id, session_id)
    references public.chat_sessions (site_id, id) on delete cascade;

alter table public.sms_settings
  drop constraint sms_settings_agent_id_fkey,
  add constraint sms_settings_agent_id_fkey foreign key (site_id, agent_id)
    references public.agents (site_id, id) on delete cascade;

alter table public.sms_conversations
  drop constraint sms_conversations_agent_id_fkey,
  drop constraint sms_conversations_conversation_id_fkey,
  drop constraint sms_conversations_session_id_fkey,
  add constraint sms_conversations_agent_id_fkey foreign key (site_id, agent_id)
    references public.agents (site_id, id) on delete cascade,
  add constraint sms_conversations_conversation_id_fkey foreign key (site_id, conversation_id)
    references public.conversations (site_id, id) on delete cascade,
  add constraint sms_conversations_session_id_fkey foreign key (site_id, session_id)
    references public.chat_sessions (site_id, id) on delete set null (session_id);

alter table public.credit_ledger
  drop constraint credit_ledger_customer_id_fkey,
  drop constraint credit_ledger_message_id_fkey,
  add constraint credit_ledger_customer_id_fkey foreign key (site_id, customer_id)
    references public.customers (site_id, id) on delete cascade,
  add constraint credit_ledger_message_id_fkey foreign key (site_id, message_id)
    references public.messages (site_id, id) on delete set null (message_id);
