-- Every JSON column has a size. custom_fields and ui_customization had none (512 KB and 900 KB
-- were stored through the API). The bounds are chat_core::limits::JSON_BYTES (16 KB of JSON
-- text) for what people and clients write, and BOT_INTERACTION_JSON_BYTES (256 KB) for the
-- recorded requests and responses of automatic answers; the edge refuses larger values first
-- (tests/tests/limits.rs checks every jsonb column has its CHECK).
-- A database already holding larger values fails here, naming the constraint.
-- Affects: bot_interactions, chat_links, conversations, customers, message_history, messages,
-- widget_settings.

alter table public.bot_interactions
  add constraint bot_interactions_request_size check (octet_length(request::text) <= 262144),
  add constraint bot_interactions_response_size check (octet_length(response::text) <= 262144);
alter table public.chat_links
  add constraint chat_links_metadata_size check (octet_length(metadata::text) <= 16384),
  add constraint chat_links_ui_customization_size check (octet_length(ui_customization::text) <= 16384);
alter table public.conversations
  add constraint conversations_metadata_size check (octet_length(metadata::text) <= 16384);
alter table public.customers
  add constraint customers_custom_fields_size check (octet_length(custom_fields::text) <= 16384),
  add constraint customers_profile_size check (octet_length(profile::text) <= 16384);
alter table public.message_history
  add constraint message_history_old_metadata_size check (octet_length(old_metadata::text) <= 16384);
alter table public.messages
  add constraint messages_metadata_size check (octet_length(metadata::text) <= 16384);
alter table public.widget_settings
  add constraint widget_settings_business_hours_size check (octet_length(business_hours::text) <= 16384),
  add constraint widget_settings_custom_fields_size check (octet_length(custom_fields::text) <= 16384),
  add constraint widget_settings_ui_customization_size check (octet_length(ui_customization::text) <= 16384);
