-- What the edge's chat API needs beyond the chat functions: online state from business hours,
-- dark mode, resuming a session by its token, and automatic answers.
-- Affects: widget_settings.color_scheme, is_open(jsonb, text, timestamptz), widget_config(text)
--          (adds the default agent's public persona),
--          (is_online = within business hours and an operator online),
--          resume_session(text, timestamptz), answer_automatically(uuid, real).

alter table public.widget_settings
  add column color_scheme text not null default 'light' check (color_scheme in ('light', 'dark', 'auto'));

-- Whether `p_at` falls in the business hours, read in the site's time zone. Hours are
-- {"mon": [["09:00", "17:00"]], "tue": [...], ...}; a missing day is closed; null is always open.
create or replace function public.is_open(p_hours jsonb, p_timezone text, p_at timestamptz default now())
returns boolean
language sql stable
set search_path = ''
as $$
  select case
    when p_hours is null then true
    else exists (
      select 1
      from jsonb_array_elements(coalesce(p_hours -> lower(to_char(p_at at time zone p_timezone, 'Dy')), '[]')) span
      where (p_at at time zone p_timezone)::time >= (span ->> 0)::time
        and (p_at at time zone p_timezone)::time < (span ->> 1)::time
    )
  end
$$;
comment on function public.is_open(jsonb, text, timestamptz) is 'Whether a moment falls in business hours given per weekday in a time zone.';

-- Reject time zones Postgres does not know and malformed hours when they are saved.
alter table public.widget_settings
  add constraint widget_settings_timezone_known check ('2000-01-01 00:00+00'::timestamptz at time zone timezone is not null),
  add constraint widget_settings_business_hours_shape check (
    business_hours is null or public.is_open(business_hours, timezone, '2000-01-01 00:00+00') is not null);

create or replace function public.widget_config(site_key text) returns jsonb
language sql
stable
security definer
set search_path = ''
as $$
  select case when not w.enabled then jsonb_build_object('site_key', s.site_key, 'enabled', false)
  else jsonb_build_object(
    'site_key', s.site_key,
    'site_name', s.name,
    'enabled', w.enabled,
    'title', w.title,
    'welcome_message', w.welcome_message,
    'offline_message', w.offline_message,
    -- Online: within business hours and someone is there to answer.
    'is_online', public.is_open(w.business_hours, w.timezone)
                 and exists (select 1 from public.site_members m where m.site_id = s.id and m.availability = 'online'),
    -- The persona that greets visitors: the site's default agent (its oldest active one).
    'agent', (select jsonb_build_object('name', a.name, 'avatar_url', a.avatar_url)
              from public.agents a where a.site_id = s.id and a.is_active order by a.created_at, a.id limit 1),
    'theme', jsonb_build_object(
      'primary_color', w.primary_color,
      'text_color', w.text_color,
      'background_color', w.background_color,
      'color_scheme', w.color_scheme
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
    'custom_fields', w.custom_fields
  ) end
  from public.sites s
  join public.widget_settings w on w.site_id = s.id
  where s.site_key = widget_config.site_key
$$;

-- The session a resume token names, if it may still be used: the edge mints a fresh guest JWT
-- for it (POST /v1/sessions/refresh). Refuses ended and timed-out sessions.
create or replace function public.resume_session(p_token_hash text, p_now timestamptz default now())
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
begin
  select s.* into v_session
  from public.chat_session_tokens t join public.chat_sessions s on s.id = t.session_id
  where t.token_hash = p_token_hash
  for update of s;
  if not found then
    perform public.refuse('session_not_found', 'This chat session does not exist.');
  end if;
  perform public.refuse_unless_open(v_session, p_now);
  return jsonb_build_object('session_id', v_session.id, 'conversation_id', v_session.conversation_id,
                            'customer_id', v_session.customer_id, 'site_id', v_session.site_id,
                            'link_id', v_session.link_id, 'resumed', true);
end;
$$;

-- At most one automatic answer to a visitor message, when no operator holds the conversation:
-- the best published article above p_min_rank, or else (once per conversation, and only when
-- the site is outside business hours or no operator is online) the away message. The answer's
-- client_msg_id is derived from what it answers, so the unique index makes a second call a no-op.
create or replace function public.answer_automatically(p_message_id uuid, p_min_rank real default 0.05)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_message public.messages%rowtype;
  v_conversation public.conversations%rowtype;
  v_settings public.widget_settings%rowtype;
  v_article record;
  v_answer public.messages%rowtype;
  v_staffed boolean;
begin
  select * into v_message from public.messages where id = p_message_id and sender_type = 'customer';
  if not found then
    return null;
  end if;
  select * into v_conversation from public.conversations where id = v_message.conversation_id;
  if v_conversation.assigned_operator_id is not null or v_conversation.status = 'closed' then
    return null;
  end if;
  select * into v_settings from public.widget_settings where site_id = v_message.site_id;

  select a.id, a.title, a.body, a.rank into v_article
  from public.search_knowledge(v_message.site_id, v_message.content, 1) a
  where a.rank >= p_min_rank;
  if found then
    insert into public.messages (conversation_id, site_id, session_id, sender_type, agent_id, content, metadata, client_msg_id)
    values (v_message.conversation_id, v_message.site_id, v_message.session_id, 'ai', v_conversation.agent_id,
            left(v_article.body, 5000),
            jsonb_build_object('kind', 'knowledge_answer', 'article_id', v_article.id, 'article_title', v_article.title,
                               'answers', v_message.id),
            extensions.uuid_generate_v5(v_message.id, 'knowledge_answer'))
    on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing
    returning * into v_answer;
    if found then
      insert into public.bot_interactions (site_id, conversation_id, message_id, agent_id, kind, request, response, status, completed_at)
      values (v_message.site_id, v_message.conversation_id, v_answer.id, v_conversation.agent_id, 'knowledge_answer',
              jsonb_build_object('question', v_message.content), jsonb_build_object('article_id', v_article.id, 'rank', v_article.rank),
              'completed', now());
      return public.message_json(v_answer);
    end if;
    return null;
  end if;

  select exists (select 1 from public.site_members m where m.site_id = v_message.site_id and m.availability = 'online')
    into v_staffed;
  if v_staffed and public.is_open(v_settings.business_hours, v_settings.timezone) then
    return null;
  end if;
  insert into public.messages (conversation_id, site_id, session_id, sender_type, agent_id, content, metadata, client_msg_id)
  values (v_message.conversation_id, v_message.site_id, v_message.session_id, 'ai', v_conversation.agent_id,
          v_settings.offline_message, jsonb_build_object('kind', 'away_message', 'answers', v_message.id),
          extensions.uuid_generate_v5(v_message.conversation_id, 'away_message'))
  on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing
  returning * into v_answer;
  if found then
    insert into public.bot_interactions (site_id, conversation_id, message_id, agent_id, kind, request, status, completed_at)
    values (v_message.site_id, v_message.conversation_id, v_answer.id, v_conversation.agent_id, 'away_message',
            jsonb_build_object('question', v_message.content), 'completed', now());
    return public.message_json(v_answer);
  end if;
  return null;
end;
$$;

revoke execute on function public.resume_session(text, timestamptz), public.answer_automatically(uuid, real)
  from public, anon, authenticated;
grant execute on function public.resume_session(text, timestamptz), public.answer_automatically(uuid, real) to service_role;
