-- Durable automatic answers. The edge answered a visitor's message once, in the background
-- after its response, and never again: under fault injection six answers failed (the database
-- unreachable for a moment) and those messages stayed unanswered for good, since the visitor's
-- retried post is a duplicate. Now every visitor message is recorded as owed an answer in the
-- transaction that stores it, and the record leaves only when the message is answered, or is
-- no longer the agents' to answer (a human holds the conversation, it closed, nothing fits),
-- or after its last attempt (recorded in bot_interactions as a failed handoff; the
-- conversation stays in the human queue). answer_automatically takes the record first (skip
-- locked: one answer however many callers race), so the edge may call it again on a retried
-- post, and answer_owed() answers what is still owed, each attempt backed off: the edge's
-- minute cron and pg_cron where installed.
-- Lock order: an owed answer, then its conversation (the answer's insert locks it).
-- Affects: owed_answers (new), owe_answer() and its trigger, answer_automatically,
-- answer_owed (new).

create table public.owed_answers (
  message_id uuid primary key,
  site_id uuid not null references public.sites (id) on delete cascade,
  conversation_id uuid not null,
  attempts integer not null default 0 check (attempts >= 0),
  next_attempt_at timestamptz not null default now(),
  last_error text check (char_length(last_error) <= 2000),
  created_at timestamptz not null default now(),
  foreign key (site_id, message_id) references public.messages (site_id, id) on delete cascade,
  foreign key (site_id, conversation_id) references public.conversations (site_id, id) on delete cascade
);
comment on table public.owed_answers is 'Visitor messages still owed an automatic answer, with their attempts.';
create index owed_answers_due_idx on public.owed_answers (next_attempt_at);
alter table public.owed_answers enable row level security;
-- The service role's alone: no API role reads or writes it.
revoke all on public.owed_answers from anon, authenticated;

create function public.owe_answer() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  insert into public.owed_answers (message_id, site_id, conversation_id, next_attempt_at)
  values (new.id, new.site_id, new.conversation_id, new.created_at);
  return null;
end;
$$;
comment on function public.owe_answer() is 'Records a visitor''s message as owed an automatic answer.';
revoke execute on function public.owe_answer() from public, anon, authenticated;
create trigger messages_owe_answer after insert on public.messages
  for each row when (new.sender_type = 'customer' and not new.internal)
  execute function public.owe_answer();

-- As before (20261204000300_automatic_answer_choice.sql), but only for a message still owed,
-- taken first, and no longer owed when this returns.
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
  v_knowledge boolean;
begin
  perform 1 from public.owed_answers where message_id = p_message_id for update skip locked;
  if not found then
    return null;
  end if;
  delete from public.owed_answers where message_id = p_message_id;
  select * into v_message from public.messages where id = p_message_id and sender_type = 'customer';
  if not found then
    return null;
  end if;
  select * into v_conversation from public.conversations where id = v_message.conversation_id;
  if v_conversation.assigned_operator_id is not null or v_conversation.status = 'closed' then
    return null;
  end if;
  v_choice := public.automatic_answer_choice(v_message.site_id, v_message.content, p_min_rank);
  if v_choice is null then
    return null;
  end if;
  v_knowledge := v_choice ->> 'kind' = 'knowledge_answer';
  insert into public.messages (conversation_id, site_id, session_id, sender_type, agent_id, content, metadata, client_msg_id)
  values (v_message.conversation_id, v_message.site_id, v_message.session_id, 'ai', v_conversation.agent_id,
          v_choice ->> 'content',
          case when v_knowledge
            then jsonb_build_object('kind', 'knowledge_answer', 'article_id', v_choice -> 'article_id',
                                    'article_title', v_choice ->> 'article_title', 'answers', v_message.id)
            else jsonb_build_object('kind', 'away_message', 'answers', v_message.id) end,
          -- One answer per question; one away message per conversation.
          case when v_knowledge then extensions.uuid_generate_v5(v_message.id, 'knowledge_answer')
               else extensions.uuid_generate_v5(v_message.conversation_id, 'away_message') end)
  on conflict (conversation_id, client_msg_id) where client_msg_id is not null do nothing
  returning * into v_answer;
  if not found then
    return null;
  end if;
  insert into public.bot_interactions (site_id, conversation_id, message_id, agent_id, kind, request, response, status, completed_at)
  values (v_message.site_id, v_message.conversation_id, v_answer.id, v_conversation.agent_id, v_choice ->> 'kind',
          jsonb_build_object('question', v_message.content),
          case when v_knowledge then jsonb_build_object('article_id', v_choice -> 'article_id', 'rank', v_choice -> 'rank') end,
          'completed', now());
  return public.message_json(v_answer);
end;
$$;

-- What is still owed and due, oldest first, at most p_limit: each answered in a
-- sub-transaction of its own; a failure is kept with the next attempt backed off (1, 2, 4, 8
-- minutes) and the fifth is the last.
create function public.answer_owed(p_limit integer default 100, p_now timestamptz default now())
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
    select * from public.owed_answers where next_attempt_at <= p_now order by next_attempt_at, message_id limit p_limit
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
comment on function public.answer_owed(integer, timestamptz) is 'Answers the visitor messages still owed an automatic answer, retrying with backoff.';
revoke execute on function public.answer_owed(integer, timestamptz) from public, anon, authenticated;
grant execute on function public.answer_owed(integer, timestamptz) to service_role;

do $$
begin
  if exists (select 1 from pg_catalog.pg_extension where extname = 'pg_cron') then
    perform cron.schedule('chat-owed-answers', '* * * * *', 'select public.answer_owed()');
  else
    raise notice 'pg_cron is not installed; the edge''s minute cron runs public.answer_owed()';
  end if;
exception when others then
  raise notice 'pg_cron cannot be used in this database (%); the edge''s minute cron runs public.answer_owed()', sqlerrm;
end
$$;
