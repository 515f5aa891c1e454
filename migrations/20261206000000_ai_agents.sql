-- AI agents answer with a language model at the edge, and hand the conversation to a human.
--
-- Who answers a conversation is the database's to know, so that two paths never race: a new
-- conversation whose responder is an agent (a temporary link's agent; on the widget, the site's
-- default agent when the site turned AI on) starts in the state `bot`, outside the human queue.
-- Its visitor messages are owed an answer as every visitor message is (owed_answers), but the
-- SQL answerer (answer_automatically, answer_owed, pg_cron) leaves them to the edge: the edge
-- takes each one with take_owed_answer, which leases it (a second edge instance, a retried
-- post and the cron see the lease and do nothing), checks the budgets, and hands back the
-- agent, the recent history and the best knowledge articles; the edge streams the model's
-- answer and stores it with store_agent_answer, or reports the failure with fail_agent_turn.
-- Both lock the owed row, then the conversation: an answer that finds the conversation no
-- longer the agent's (a human took it, the visitor asked for one, it closed) is dropped in the
-- transaction that would have stored it. A lease that runs out (the edge died) is taken again
-- by the cron, three times at most; then the conversation is handed off.
--
-- hand_off moves a conversation from `bot` to `waiting` (the queue drains at commit:
-- auto-assignment applies) with a system message that says so: the visitor's request (the
-- widget's button sends "Talk to a person" as a message; API clients call request_handoff),
-- the model's handoff_to_human tool, a provider error or
-- timeout, a budget reached. A staff member who takes, is given, or replies to a conversation
-- ends the agent's turn the same way (assign_to makes it `active`).
--
-- Without a language model (no provider in the deployment, none set for the site), an agent's
-- conversation is answered as before from the knowledge articles, and handed to the queue when
-- they have no answer.
--
-- Limits per site (site_ai_settings): a daily token budget (UTC days) and a per-conversation
-- cap, both checked before the model is called; ai_usage_days keeps each day's tokens, answers,
-- handoffs and refusals for the owner. The provider override's key is written through
-- save_ai_settings and no API role may select it back.
--
-- Lock order (README): an owed answer, then its conversation, then the site's usage day.
-- Affects: site_ai_settings, ai_usage_days (new), owed_answers (claimed_until), conversations
-- (status 'bot', ai_tokens), guest_metadata, inbox ('open' includes 'bot'; new filter 'agent'),
-- answer_automatically, answer_owed; new: choose_responder (trigger), hand_off,
-- post_automatic_answer, take_owed_answer, owed_agent_turns, store_agent_answer,
-- fail_agent_turn, request_handoff, staff_reply_takes_over (trigger), save_ai_settings,
-- create_default_ai_settings (trigger).

create table public.site_ai_settings (
  site_id uuid primary key references public.sites (id) on delete cascade,
  enabled boolean not null default false,
  default_agent_id uuid,
  handoff_message text not null
    default 'I''m passing you to a person from our team. They will answer here as soon as they can.'
    check (char_length(handoff_message) between 1 and 1000),
  daily_token_budget integer not null default 200000 check (daily_token_budget between 1000 and 100000000),
  conversation_token_cap integer not null default 20000 check (conversation_token_cap between 1000 and 1000000),
  provider_base_url text check (provider_base_url ~ '^https?://[^\s]+$' and char_length(provider_base_url) <= 500),
  provider_model text check (char_length(provider_model) between 1 and 100),
  provider_key text check (char_length(provider_key) between 1 and 500),
  provider_key_set boolean generated always as (provider_key is not null) stored,
  updated_at timestamptz not null default now(),
  foreign key (site_id, default_agent_id) references public.agents (site_id, id) on delete set null (default_agent_id)
);
comment on table public.site_ai_settings is
  'A site''s AI answering: on or off, its default agent, the handoff message, token budgets, an optional provider of its own.';
comment on column public.site_ai_settings.provider_key is 'The provider override''s API key: written by save_ai_settings, readable by no API role.';
create trigger site_ai_settings_set_updated_at before update on public.site_ai_settings
  for each row execute function public.set_updated_at();
alter table public.site_ai_settings enable row level security;
create policy "Members can see their site's AI settings" on public.site_ai_settings
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
revoke all on public.site_ai_settings from anon, authenticated;
-- Written only through save_ai_settings.
grant select (site_id, enabled, default_agent_id, handoff_message, daily_token_budget, conversation_token_cap,
              provider_base_url, provider_model, provider_key_set, updated_at)
  on public.site_ai_settings to authenticated;

create function public.create_default_ai_settings() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into public.site_ai_settings (site_id) values (new.id);
  return null;
end;
$$;
revoke execute on function public.create_default_ai_settings() from public, anon, authenticated;
create trigger sites_create_ai_settings after insert on public.sites
  for each row execute function public.create_default_ai_settings();
insert into public.site_ai_settings (site_id) select id from public.sites on conflict do nothing;

create table public.ai_usage_days (
  site_id uuid not null references public.sites (id) on delete cascade,
  day date not null,
  prompt_tokens bigint not null default 0 check (prompt_tokens >= 0),
  completion_tokens bigint not null default 0 check (completion_tokens >= 0),
  answers integer not null default 0 check (answers >= 0),
  handoffs integer not null default 0 check (handoffs >= 0),
  refusals integer not null default 0 check (refusals >= 0),
  primary key (site_id, day)
);
comment on table public.ai_usage_days is 'A site''s language-model use per UTC day: tokens, answers, handoffs, questions refused by a budget.';
alter table public.ai_usage_days enable row level security;
create policy "Members can see their site's AI usage" on public.ai_usage_days
  for select to authenticated using (site_id = any ((select public.member_site_ids())::uuid[]));
revoke all on public.ai_usage_days from anon, authenticated;
grant select on public.ai_usage_days to authenticated;

alter table public.owed_answers add column claimed_until timestamptz;
comment on column public.owed_answers.claimed_until is 'An edge is answering with the model until then (take_owed_answer''s lease).';

alter table public.conversations drop constraint conversations_status_check;
alter table public.conversations add constraint conversations_status_check
  check (status in ('bot', 'waiting', 'active', 'snoozed', 'closed'));
alter table public.conversations add column ai_tokens integer not null default 0 check (ai_tokens >= 0);
comment on column public.conversations.ai_tokens is 'Language-model tokens spent on this conversation (its cap: site_ai_settings).';
comment on column public.conversations.handed_off_at is
  'When the conversation went from automatic answers to humans: a handoff, or else a human''s first reply after one.';

-- A new conversation's responder: the link's agent, or on the widget the site's default agent
-- when the site's AI is on. Such a conversation starts with the agent (`bot`).
create function public.choose_responder() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_settings public.site_ai_settings%rowtype;
begin
  if new.status <> 'waiting' then
    return new;
  end if;
  if new.source = 'widget' then
    select * into v_settings from public.site_ai_settings where site_id = new.site_id;
    if not coalesce(v_settings.enabled, false) then
      return new;
    end if;
    new.agent_id := coalesce(
      (select a.id from public.agents a where a.id = v_settings.default_agent_id and a.is_active), new.agent_id);
  elsif new.source <> 'link' then
    return new;
  end if;
  if exists (select 1 from public.agents a where a.id = new.agent_id and a.site_id = new.site_id and a.is_active) then
    new.status := 'bot';
  end if;
  return new;
end;
$$;
revoke execute on function public.choose_responder() from public, anon, authenticated;
create trigger conversations_choose_responder before insert on public.conversations
  for each row execute function public.choose_responder();

-- The site's language-model use of the UTC day of p_at, added to (the usage day is the last lock).
create function public.count_ai_usage(p_site_id uuid, p_at timestamptz, p_prompt_tokens integer,
  p_completion_tokens integer, p_answers integer, p_handoffs integer, p_refusals integer) returns void
language sql
set search_path = ''
as $$
  insert into public.ai_usage_days as u (site_id, day, prompt_tokens, completion_tokens, answers, handoffs, refusals)
  values (p_site_id, (p_at at time zone 'UTC')::date, coalesce(p_prompt_tokens, 0), coalesce(p_completion_tokens, 0),
          p_answers, p_handoffs, p_refusals)
  on conflict (site_id, day) do update
    set prompt_tokens = u.prompt_tokens + excluded.prompt_tokens,
        completion_tokens = u.completion_tokens + excluded.completion_tokens,
        answers = u.answers + excluded.answers,
        handoffs = u.handoffs + excluded.handoffs,
        refusals = u.refusals + excluded.refusals
$$;
revoke execute on function public.count_ai_usage(uuid, timestamptz, integer, integer, integer, integer, integer)
  from public, anon, authenticated;

-- Moves the locked conversation from the agent to the human queue (at most once: only from
-- `bot`), says so to the visitor unless p_say is false, and records the handoff. p_reason:
-- visitor, model, error, timeout, budget, no_answer, no_agent. Returns the conversation.
create function public.hand_off(p_conversation public.conversations, p_reason text, p_detail text,
  p_now timestamptz, p_say boolean default true) returns public.conversations
language plpgsql
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
  v_message text;
begin
  update public.conversations
  set status = 'waiting', handed_off_at = coalesce(handed_off_at, p_now)
  where id = p_conversation.id and status = 'bot'
  returning * into v_conversation;
  if not found then
    return p_conversation;
  end if;
  if p_say then
    select s.handoff_message into v_message from public.site_ai_settings s where s.site_id = p_conversation.site_id;
    v_message := case p_reason
                   when 'error' then 'Our assistant could not answer just now. '
                   when 'timeout' then 'Our assistant took too long to answer. '
                   when 'no_agent' then 'Our assistant is not available. '
                   when 'budget' then 'Our assistant cannot answer more questions for now. '
                   else '' end
                 || coalesce(v_message, 'A person from our team will answer here.');
    insert into public.messages (conversation_id, site_id, sender_type, message_type, content, metadata, client_msg_id)
    values (p_conversation.id, p_conversation.site_id, 'system', 'system', v_message,
            jsonb_build_object('kind', 'handoff', 'reason', p_reason),
            extensions.uuid_generate_v5(p_conversation.id, 'handoff'))
    on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing;
  end if;
  insert into public.bot_interactions (site_id, conversation_id, agent_id, kind, request, status, completed_at)
  values (p_conversation.site_id, p_conversation.id, p_conversation.agent_id, 'handoff',
          jsonb_strip_nulls(jsonb_build_object('reason', p_reason, 'detail', left(p_detail, 1000))), 'completed', p_now);
  perform public.count_ai_usage(p_conversation.site_id, p_now, 0, 0, 0, 1, case when p_reason = 'budget' then 1 else 0 end);
  return v_conversation;
end;
$$;
revoke execute on function public.hand_off(public.conversations, text, text, timestamptz, boolean) from public, anon, authenticated;

-- Posts an automatic answer (answer_automatically's choice) to the visitor message: once per
-- question, the away message once per conversation. Returns the stored row, or null when it
-- was already given.
create function public.post_automatic_answer(p_message public.messages, p_conversation public.conversations, p_choice jsonb)
returns public.messages
language plpgsql
set search_path = ''
as $$
declare
  v_knowledge boolean := p_choice ->> 'kind' = 'knowledge_answer';
  v_answer public.messages%rowtype;
begin
  insert into public.messages (conversation_id, site_id, session_id, sender_type, agent_id, content, metadata, client_msg_id)
  values (p_message.conversation_id, p_message.site_id, p_message.session_id, 'ai', p_conversation.agent_id,
          p_choice ->> 'content',
          case when v_knowledge
            then jsonb_build_object('kind', 'knowledge_answer', 'article_id', p_choice -> 'article_id',
                                    'article_title', p_choice ->> 'article_title', 'answers', p_message.id)
            else jsonb_build_object('kind', 'away_message', 'answers', p_message.id) end,
          case when v_knowledge then extensions.uuid_generate_v5(p_message.id, 'knowledge_answer')
               else extensions.uuid_generate_v5(p_message.conversation_id, 'away_message') end)
  on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing
  returning * into v_answer;
  if not found then
    return null;
  end if;
  insert into public.bot_interactions (site_id, conversation_id, message_id, agent_id, kind, request, response, status, completed_at)
  values (p_message.site_id, p_message.conversation_id, v_answer.id, p_conversation.agent_id, p_choice ->> 'kind',
          jsonb_build_object('question', p_message.content),
          case when v_knowledge then jsonb_build_object('article_id', p_choice -> 'article_id', 'rank', p_choice -> 'rank') end,
          'completed', now());
  return v_answer;
end;
$$;
revoke execute on function public.post_automatic_answer(public.messages, public.conversations, jsonb) from public, anon, authenticated;

-- As before (20261205000100_owed_answers.sql), but an agent's conversation is left to the edge
-- (take_owed_answer): its owed row stays.
create or replace function public.answer_automatically(p_message_id uuid, p_min_rank real default 0.05)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_message public.messages%rowtype;
  v_conversation public.conversations%rowtype;
  v_choice jsonb;
  v_answer public.messages%rowtype;
begin
  perform 1 from public.owed_answers where message_id = p_message_id for update skip locked;
  if not found then
    return null;
  end if;
  select * into v_message from public.messages where id = p_message_id and sender_type = 'customer';
  if found then
    select * into v_conversation from public.conversations where id = v_message.conversation_id;
    if v_conversation.status = 'bot' then
      return null;
    end if;
  end if;
  delete from public.owed_answers where message_id = p_message_id;
  if v_message.id is null or v_conversation.assigned_operator_id is not null or v_conversation.status = 'closed' then
    return null;
  end if;
  v_choice := public.automatic_answer_choice(v_message.site_id, v_message.content, p_min_rank);
  if v_choice is null then
    return null;
  end if;
  v_answer := public.post_automatic_answer(v_message, v_conversation, v_choice);
  return case when v_answer.id is not null then public.message_json(v_answer) end;
end;
$$;

-- As before, but only the owed answers of conversations that are not an agent's.
create or replace function public.answer_owed(p_limit integer default 100, p_now timestamptz default now())
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_owed public.owed_answers%rowtype;
  v_answered integer := 0;
  v_failed integer := 0;
  v_given_up integer := 0;
  v_error text;
begin
  for v_owed in
    select o.* from public.owed_answers o
    where o.next_attempt_at <= p_now
      and not exists (select 1 from public.conversations c where c.id = o.conversation_id and c.status = 'bot')
    order by o.next_attempt_at, o.message_id limit p_limit
  loop
    begin
      if public.answer_automatically(v_owed.message_id) is not null then
        v_answered := v_answered + 1;
      end if;
    exception when others then
      v_error := left(sqlerrm, 2000);
      if v_owed.attempts + 1 >= 5 then
        delete from public.owed_answers where message_id = v_owed.message_id;
        insert into public.bot_interactions (site_id, conversation_id, message_id, kind, request, status, error_message, completed_at)
        values (v_owed.site_id, v_owed.conversation_id, v_owed.message_id, 'handoff',
                jsonb_build_object('attempts', v_owed.attempts + 1), 'failed', v_error, p_now);
        v_given_up := v_given_up + 1;
      else
        update public.owed_answers
        set attempts = attempts + 1, last_error = v_error,
            next_attempt_at = p_now + make_interval(mins => power(2, attempts)::integer)
        where message_id = v_owed.message_id;
        v_failed := v_failed + 1;
      end if;
    end;
  end loop;
  return jsonb_build_object('answered', v_answered, 'failed', v_failed, 'given_up', v_given_up);
end;
$$;

-- The edge's entry for every owed answer (after a post, and for the cron's owed_agent_turns).
-- p_model: the deployment has a language model. Returns {"done": true} when there is nothing
-- for the edge to do (not owed, leased by another edge, answered here, handed off, refused by a
-- budget), or {"turn": {...}}: the owed row is leased to the caller for p_lease_seconds and the
-- model must answer: the agent, the provider override (with its key), the history up to the
-- question (oldest first), the best articles, the tokens it may spend, the lease's end, and
-- the id the answer will be stored with (its drafts are broadcast under it).
create function public.take_owed_answer(p_message_id uuid, p_model boolean, p_lease_seconds integer default 90,
  p_now timestamptz default now())
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_owed public.owed_answers%rowtype;
  v_message public.messages%rowtype;
  v_conversation public.conversations%rowtype;
  v_settings public.site_ai_settings%rowtype;
  v_agent public.agents%rowtype;
  v_used bigint;
  v_choice jsonb;
  v_done constant jsonb := jsonb_build_object('done', true);
begin
  select * into v_owed from public.owed_answers where message_id = p_message_id for update skip locked;
  if not found or v_owed.claimed_until > p_now then
    return v_done;
  end if;
  select * into v_conversation from public.conversations where id = v_owed.conversation_id for update;
  if v_conversation.status <> 'bot' then
    return v_done || jsonb_build_object('message', public.answer_automatically(p_message_id));
  end if;
  select * into v_message from public.messages where id = p_message_id;
  -- The widget's "Talk to a person" button (chat_core::api::HANDOFF_REQUEST).
  if btrim(v_message.content) = 'Talk to a person' then
    delete from public.owed_answers where message_id = p_message_id;
    perform public.hand_off(v_conversation, 'visitor', 'the visitor pressed "Talk to a person"', p_now);
    return v_done;
  end if;
  select * into v_settings from public.site_ai_settings where site_id = v_conversation.site_id;
  select * into v_agent from public.agents where id = v_conversation.agent_id and is_active;
  if v_agent.id is null then
    delete from public.owed_answers where message_id = p_message_id;
    perform public.hand_off(v_conversation, 'no_agent', 'the agent was deleted or switched off', p_now);
    return v_done;
  end if;

  if not p_model and v_settings.provider_base_url is null then
    -- No language model: the knowledge answer, else the queue (with the away message when
    -- nobody can answer now, or the handoff message).
    delete from public.owed_answers where message_id = p_message_id;
    v_choice := public.automatic_answer_choice(v_message.site_id, v_message.content);
    if v_choice ->> 'kind' = 'knowledge_answer' then
      perform public.post_automatic_answer(v_message, v_conversation, v_choice);
    else
      if v_choice is not null then
        perform public.post_automatic_answer(v_message, v_conversation, v_choice);
      end if;
      perform public.hand_off(v_conversation, 'no_answer', 'no language model and no article answers it', p_now,
                              v_choice is null);
    end if;
    return v_done;
  end if;

  if v_owed.attempts >= 3 then
    delete from public.owed_answers where message_id = p_message_id;
    perform public.hand_off(v_conversation, 'error', 'the answer was not finished in 3 attempts', p_now);
    return v_done;
  end if;
  select coalesce(sum(u.prompt_tokens + u.completion_tokens), 0) into v_used
  from public.ai_usage_days u where u.site_id = v_conversation.site_id and u.day = (p_now at time zone 'UTC')::date;
  if v_used >= v_settings.daily_token_budget or v_conversation.ai_tokens >= v_settings.conversation_token_cap then
    delete from public.owed_answers where message_id = p_message_id;
    perform public.hand_off(v_conversation, 'budget',
      case when v_used >= v_settings.daily_token_budget then 'the site''s daily token budget is spent'
           else 'the conversation''s token cap is reached' end, p_now);
    return v_done;
  end if;

  update public.owed_answers
  set claimed_until = p_now + make_interval(secs => p_lease_seconds), attempts = attempts + 1
  where message_id = p_message_id;
  return jsonb_build_object('turn', jsonb_build_object(
    'message_id', v_message.id,
    'answer_id', extensions.uuid_generate_v5(v_message.id, 'ai_reply'),
    'conversation_id', v_conversation.id,
    'site_id', v_conversation.site_id,
    'agent', jsonb_build_object('id', v_agent.id, 'name', v_agent.name, 'persona', v_agent.persona,
                                'system_prompt', v_agent.system_prompt, 'model', v_agent.model),
    'provider', case when v_settings.provider_base_url is not null then jsonb_build_object(
                  'base_url', v_settings.provider_base_url, 'model', v_settings.provider_model,
                  'key', v_settings.provider_key) end,
    'history', coalesce((
      select jsonb_agg(jsonb_build_object('visitor', h.sender_type = 'customer', 'content', h.content) order by h.seq)
      from (select m.seq, m.sender_type, m.content from public.messages m
            where m.conversation_id = v_conversation.id and m.seq <= v_message.seq and not m.internal
              and m.deleted_at is null and m.sender_type in ('customer', 'ai', 'operator')
            order by m.seq desc limit 40) h), '[]'),
    'articles', coalesce((
      select jsonb_agg(jsonb_build_object('id', a.id, 'title', a.title, 'body', a.body) order by a.rank desc)
      from public.search_knowledge(v_conversation.site_id, v_message.content, 3) a), '[]'),
    'max_tokens', least(v_settings.daily_token_budget - v_used, v_settings.conversation_token_cap - v_conversation.ai_tokens),
    'lease_until', p_now + make_interval(secs => p_lease_seconds)));
end;
$$;
comment on function public.take_owed_answer(uuid, boolean, integer, timestamptz) is
  'For the edge: answers an owed visitor message here, or leases it for the agent''s model and returns what the model needs.';
revoke execute on function public.take_owed_answer(uuid, boolean, integer, timestamptz) from public, anon, authenticated;
grant execute on function public.take_owed_answer(uuid, boolean, integer, timestamptz) to service_role;

-- Agents' owed answers that are due and not leased, oldest first: the cron's share.
create function public.owed_agent_turns(p_limit integer default 2, p_now timestamptz default now())
returns uuid[]
language sql stable security definer
set search_path = ''
as $$
  select coalesce(array_agg(t.message_id order by t.next_attempt_at, t.message_id), '{}')
  from (select o.message_id, o.next_attempt_at from public.owed_answers o
        join public.conversations c on c.id = o.conversation_id
        where c.status = 'bot' and o.next_attempt_at <= p_now and (o.claimed_until is null or o.claimed_until <= p_now)
        order by o.next_attempt_at, o.message_id
        limit p_limit) t
$$;
comment on function public.owed_agent_turns(integer, timestamptz) is 'For the edge''s cron: agents'' owed answers nobody is answering.';
revoke execute on function public.owed_agent_turns(integer, timestamptz) from public, anon, authenticated;
grant execute on function public.owed_agent_turns(integer, timestamptz) to service_role;

-- Stores the model's answer to an owed message, once, with the id its drafts were broadcast
-- with (take_owed_answer's answer_id): dropped (tokens still counted) when the conversation is
-- no longer the agent's. p_sources: the cited articles ([{id, title}]); p_handoff: set when the
-- model called handoff_to_human (its reason). Returns {"stored": ..., "message": ...} (the
-- message as the visitor sees it).
create function public.store_agent_answer(p_message_id uuid, p_content text, p_model text,
  p_prompt_tokens integer default null, p_completion_tokens integer default null,
  p_sources jsonb default '[]', p_handoff text default null, p_now timestamptz default now())
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_owed public.owed_answers%rowtype;
  v_message public.messages%rowtype;
  v_conversation public.conversations%rowtype;
  v_answer public.messages%rowtype;
  v_tokens integer := coalesce(p_prompt_tokens, 0) + coalesce(p_completion_tokens, 0);
  v_content text := left(btrim(coalesce(p_content, '')), 5000);
begin
  select * into v_owed from public.owed_answers where message_id = p_message_id for update;
  if not found then
    return jsonb_build_object('stored', false, 'reason', 'not_owed');
  end if;
  select * into v_conversation from public.conversations where id = v_owed.conversation_id for update;
  update public.conversations set ai_tokens = ai_tokens + v_tokens where id = v_conversation.id;
  delete from public.owed_answers where message_id = p_message_id;
  if v_conversation.status <> 'bot' then
    insert into public.bot_interactions (site_id, conversation_id, message_id, agent_id, kind, request, response, status, error_message, completed_at)
    values (v_conversation.site_id, v_conversation.id, p_message_id, v_conversation.agent_id, 'ai_reply',
            jsonb_build_object('model', p_model), jsonb_build_object('prompt_tokens', p_prompt_tokens, 'completion_tokens', p_completion_tokens),
            'failed', 'dropped: the conversation left the agent (' || v_conversation.status || ')', p_now);
    perform public.count_ai_usage(v_conversation.site_id, p_now, p_prompt_tokens, p_completion_tokens, 0, 0, 0);
    return jsonb_build_object('stored', false, 'reason', 'not_the_agents');
  end if;
  select * into v_message from public.messages where id = p_message_id;
  if v_content <> '' then
    insert into public.messages (id, conversation_id, site_id, session_id, sender_type, agent_id, content, metadata,
                                 ai_model, ai_prompt_tokens, ai_completion_tokens, client_msg_id)
    values (extensions.uuid_generate_v5(p_message_id, 'ai_reply'), v_conversation.id, v_conversation.site_id,
            v_message.session_id, 'ai', v_conversation.agent_id, v_content,
            jsonb_build_object('kind', 'ai_reply', 'answers', p_message_id, 'sources', coalesce(p_sources, '[]')),
            left(p_model, 100), p_prompt_tokens, p_completion_tokens,
            extensions.uuid_generate_v5(p_message_id, 'ai_reply'))
    on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing
    returning * into v_answer;
  end if;
  insert into public.bot_interactions (site_id, conversation_id, message_id, agent_id, kind, request, response, status, completed_at)
  values (v_conversation.site_id, v_conversation.id, coalesce(v_answer.id, p_message_id), v_conversation.agent_id, 'ai_reply',
          jsonb_build_object('model', p_model, 'question', v_message.content),
          jsonb_strip_nulls(jsonb_build_object('prompt_tokens', p_prompt_tokens, 'completion_tokens', p_completion_tokens,
                                               'sources', p_sources, 'handoff', p_handoff)),
          'completed', p_now);
  perform public.count_ai_usage(v_conversation.site_id, p_now, p_prompt_tokens, p_completion_tokens,
                                case when v_answer.id is null then 0 else 1 end, 0, 0);
  if p_handoff is not null then
    perform public.hand_off(v_conversation, 'model', p_handoff, p_now);
  end if;
  return jsonb_build_object('stored', v_answer.id is not null,
    'message', case when v_answer.id is not null
                 then public.message_json(v_answer) || jsonb_build_object('metadata', public.guest_metadata(v_answer.metadata)) end);
end;
$$;
comment on function public.store_agent_answer(uuid, text, text, integer, integer, jsonb, text, timestamptz) is
  'For the edge: stores an agent''s answer once, unless the conversation left the agent meanwhile.';
revoke execute on function public.store_agent_answer(uuid, text, text, integer, integer, jsonb, text, timestamptz) from public, anon, authenticated;
grant execute on function public.store_agent_answer(uuid, text, text, integer, integer, jsonb, text, timestamptz) to service_role;

-- The model failed (p_reason: error or timeout): the conversation goes to a human, with a
-- message saying so. Returns {"handed_off": ...}.
create function public.fail_agent_turn(p_message_id uuid, p_reason text, p_error text, p_now timestamptz default now())
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_owed public.owed_answers%rowtype;
  v_conversation public.conversations%rowtype;
begin
  if p_reason is null or p_reason not in ('error', 'timeout') then
    perform public.refuse('validation_failed', 'A failed turn''s reason is error or timeout.');
  end if;
  select * into v_owed from public.owed_answers where message_id = p_message_id for update;
  if not found then
    return jsonb_build_object('handed_off', false);
  end if;
  select * into v_conversation from public.conversations where id = v_owed.conversation_id for update;
  delete from public.owed_answers where message_id = p_message_id;
  insert into public.bot_interactions (site_id, conversation_id, message_id, agent_id, kind, request, status, error_message, completed_at)
  values (v_conversation.site_id, v_conversation.id, p_message_id, v_conversation.agent_id, 'ai_reply',
          jsonb_build_object('reason', p_reason), 'failed', left(coalesce(p_error, p_reason), 2000), p_now);
  return jsonb_build_object('handed_off',
    (public.hand_off(v_conversation, p_reason, p_error, p_now)).status is distinct from v_conversation.status);
end;
$$;
comment on function public.fail_agent_turn(uuid, text, text, timestamptz) is
  'For the edge: the model failed on an owed message; hands the conversation to a human.';
revoke execute on function public.fail_agent_turn(uuid, text, text, timestamptz) from public, anon, authenticated;
grant execute on function public.fail_agent_turn(uuid, text, text, timestamptz) to service_role;

-- A guest asks for a person (`POST /v1/handoff`; the widget sends chat_core's HANDOFF_REQUEST as
-- a message instead): from the agent to the queue, once; asking again, or in a conversation a
-- human already has, changes nothing. Returns the conversation's state.
create function public.request_handoff() returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_session public.chat_sessions%rowtype;
  v_conversation public.conversations%rowtype;
begin
  v_session := public.lock_guest_session();
  select * into v_conversation from public.conversations where id = v_session.conversation_id;
  if v_conversation.status = 'closed' then
    perform public.refuse('conversation_closed', 'This conversation has ended.');
  end if;
  v_conversation := public.hand_off(v_conversation, 'visitor', null, now());
  return jsonb_build_object('status', v_conversation.status);
end;
$$;
comment on function public.request_handoff() is 'For a guest: hand the conversation from the AI agent to a person.';
revoke execute on function public.request_handoff() from public, anon;
grant execute on function public.request_handoff() to authenticated;

-- A staff reply to an agent's conversation is a takeover: the replier holds it when they can
-- (online, a free seat), else it joins the queue. The message insert has locked the conversation.
create function public.staff_reply_takes_over() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_conversation public.conversations%rowtype;
begin
  select * into v_conversation from public.conversations where id = new.conversation_id;
  if v_conversation.status <> 'bot' then
    return null;
  end if;
  begin
    perform public.assign_to(v_conversation, new.sender_user_id, new.created_at);
  exception when raise_exception then
    update public.conversations set status = 'waiting' where id = new.conversation_id;
  end;
  update public.conversations set handed_off_at = coalesce(handed_off_at, new.created_at) where id = new.conversation_id;
  return null;
end;
$$;
revoke execute on function public.staff_reply_takes_over() from public, anon, authenticated;
create trigger messages_staff_reply_takes_over after insert on public.messages
  for each row when (new.sender_type = 'operator' and not new.internal)
  execute function public.staff_reply_takes_over();

-- A guest sees which articles an answer cited (titles only).
create or replace function public.guest_metadata(p_metadata jsonb) returns jsonb
language sql immutable
set search_path = ''
as $$
  select jsonb_strip_nulls(jsonb_build_object(
    'kind', p_metadata -> 'kind', 'article_title', p_metadata -> 'article_title',
    'sources', (select jsonb_agg(s -> 'title') from jsonb_array_elements(
                  case when jsonb_typeof(p_metadata -> 'sources') = 'array' then p_metadata -> 'sources' else '[]' end) s
                having count(*) > 0)))
$$;

-- Saves a site's AI settings if they are still at p_version (as save_widget_settings, but with
-- the owner's rights, since the caller may not read the key it keeps): a key left out of
-- p_settings keeps its value. p_provider_key: null keeps the stored key, '' removes it. The
-- answer never holds the key.
create function public.save_ai_settings(p_site_id uuid, p_version timestamptz, p_settings jsonb,
  p_provider_key text default null)
returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_new public.site_ai_settings := jsonb_populate_record(null::public.site_ai_settings, p_settings);
  v_saved jsonb;
begin
  if not public.has_site_role(p_site_id, array['owner', 'admin']) then
    perform public.refuse('forbidden', 'Only the site''s owners and admins may change its AI settings.');
  end if;
  update public.site_ai_settings s set
    enabled = case when p_settings ? 'enabled' then v_new.enabled else s.enabled end,
    default_agent_id = case when p_settings ? 'default_agent_id' then v_new.default_agent_id else s.default_agent_id end,
    handoff_message = case when p_settings ? 'handoff_message' then v_new.handoff_message else s.handoff_message end,
    daily_token_budget = case when p_settings ? 'daily_token_budget' then v_new.daily_token_budget else s.daily_token_budget end,
    conversation_token_cap = case when p_settings ? 'conversation_token_cap' then v_new.conversation_token_cap
                                  else s.conversation_token_cap end,
    provider_base_url = case when p_settings ? 'provider_base_url' then v_new.provider_base_url else s.provider_base_url end,
    provider_model = case when p_settings ? 'provider_model' then v_new.provider_model else s.provider_model end,
    provider_key = case when p_provider_key is null then s.provider_key else nullif(p_provider_key, '') end
  where s.site_id = p_site_id and s.updated_at = p_version
  returning jsonb_build_object('site_id', s.site_id, 'enabled', s.enabled, 'default_agent_id', s.default_agent_id,
    'handoff_message', s.handoff_message, 'daily_token_budget', s.daily_token_budget,
    'conversation_token_cap', s.conversation_token_cap, 'provider_base_url', s.provider_base_url,
    'provider_model', s.provider_model, 'provider_key_set', s.provider_key_set, 'updated_at', s.updated_at)
  into v_saved;
  if not found then
    perform public.refuse('version_conflict', 'Someone else saved these settings after you opened them. '
      'Nothing of yours was saved: load their version, then make your changes again.');
  end if;
  return v_saved;
end;
$$;
comment on function public.save_ai_settings(uuid, timestamptz, jsonb, text) is 'Saves a site''s AI settings if they are still at p_version.';
revoke execute on function public.save_ai_settings(uuid, timestamptz, jsonb, text) from public, anon;
grant execute on function public.save_ai_settings(uuid, timestamptz, jsonb, text) to authenticated;

-- As before (20261202000500_inbox_search_by_index.sql), with the agents' conversations: among
-- the open ones, and on their own (filter 'agent').
create or replace function public.inbox(
  p_site_id uuid,
  p_filter text default 'open',
  p_search text default null,
  p_cursor_at timestamptz default null,
  p_cursor_id uuid default null,
  p_limit integer default 50
) returns table (
  id uuid, status text, priority text, subject text, escalation_level text, snoozed_until timestamptz,
  last_message_at timestamptz, assigned_operator_id uuid, customer_id uuid, customer_name text,
  customer_email text, last_message text, last_sender_type text, last_internal boolean, unread integer
)
language plpgsql stable
set search_path = ''
set jit = off
as $$
declare
  -- The page's candidates: the site's conversations (with their customers) for the filter,
  -- after the cursor. Each statement below puts its own joins between the two parts.
  v_conversations constant text := $sql$
    from public.conversations c
    left join public.customers cu on cu.id = c.customer_id
  $sql$;
  v_candidates constant text := $sql$
    where c.site_id = $1
      and case $2
            when 'mine' then c.status in ('active', 'snoozed') and c.assigned_operator_id = (select auth.uid())
            when 'unassigned' then c.status = 'waiting'
            when 'open' then c.status in ('bot', 'waiting', 'active')
            when 'agent' then c.status = 'bot'
            when 'snoozed' then c.status = 'snoozed'
            when 'closed' then c.status = 'closed'
            else false
          end
      and ($4 is null or (c.last_message_at, c.id) < ($4, $5))
  $sql$;
  -- How many conversations a search walks before it asks the trigram index.
  v_walk constant integer := 200;
  v_term text := nullif(btrim(p_search), '');
  v_limit integer := least(greatest(coalesce(p_limit, 50), 1), 100);
  v_pattern text;
  v_matches uuid[];
  v_walked integer;
  v_search text := '';
begin
  if v_term is not null then
    v_pattern := '%' || replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_') || '%';
    v_search := 'and (cu.name ilike $3 or cu.email ilike $3)';
  end if;
  if char_length(v_term) >= 3 then
    execute format($sql$
      select count(*)::integer, coalesce(array_agg(w.id) filter (where w.hit), '{}')
      from (select c.id, cu.name ilike $3 or cu.email ilike $3 or said.hit as hit
            %s
            -- A lateral subquery with a limit: each conversation is read through its own index
            -- entries (an exists could be turned into one hash of all the site's matches).
            left join lateral (
              select true as hit from public.messages m
              where m.conversation_id = c.id and m.deleted_at is null and m.content ilike $3
              limit 1
            ) said on true
            %s
            order by c.last_message_at desc, c.id desc
            limit $6) w
    $sql$, v_conversations, v_candidates)
    into v_walked, v_matches
    using p_site_id, p_filter, v_pattern, p_cursor_at, p_cursor_id, v_walk;
    if cardinality(v_matches) >= v_limit or v_walked < v_walk then
      v_search := 'and c.id = any ($7)';
    else
      v_matches := array(select public.inbox_text_matches(p_site_id, v_pattern));
      v_search := 'and (cu.name ilike $3 or cu.email ilike $3 or c.id = any ($7))';
    end if;
  end if;
  -- Dynamic on purpose: planned for each call with its filter, search and cursor known. Only
  -- the fixed clauses above are spliced in; every value is a parameter.
  return query execute format($sql$
    select c.id, c.status, c.priority, c.subject, c.escalation_level, c.snoozed_until,
           c.last_message_at, c.assigned_operator_id, c.customer_id, cu.name, cu.email,
           last.content, last.sender_type, last.internal,
           (select count(*)::integer from (
              select 1 from public.messages m
              where m.conversation_id = c.id and m.sender_type = 'customer'
                and m.seq > coalesce(p.last_read_seq, 0)
              limit 100) unread) as unread
    %s
    left join public.conversation_participants p on p.conversation_id = c.id and p.user_id = (select auth.uid())
    left join lateral (
      select m.content, m.sender_type, m.internal from public.messages m
      where m.conversation_id = c.id and m.deleted_at is null
      order by m.seq desc limit 1
    ) last on true
    %s %s
    order by c.last_message_at desc, c.id desc
    limit $6
  $sql$, v_conversations, v_candidates, v_search)
  using p_site_id, p_filter, v_pattern, p_cursor_at, p_cursor_id, v_limit, v_matches;
end;
$$;
