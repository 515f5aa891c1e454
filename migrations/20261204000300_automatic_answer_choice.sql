-- What an automatic answer would say is chosen in one place: automatic_answer_choice(site,
-- question) picks the best published article above the rank, or else (when nobody can answer:
-- outside business hours or no operator online) the away message, or nothing (an operator will).
-- answer_automatically posts that choice; try_automatic_answer shows it to the site's staff
-- (the knowledge section's "try a question" box), so what the console shows is what a visitor
-- gets. The away message is still given once per conversation by answer_automatically.
-- Affects: automatic_answer_choice, try_automatic_answer (new), answer_automatically.

create function public.automatic_answer_choice(p_site_id uuid, p_question text, p_min_rank real default 0.05)
returns jsonb
language plpgsql stable security definer
set search_path = ''
as $$
declare
  v_article record;
  v_settings public.widget_settings%rowtype;
begin
  select a.id, a.title, a.body, a.rank into v_article
  from public.search_knowledge(p_site_id, p_question, 1) a
  where a.rank >= p_min_rank;
  if found then
    return jsonb_build_object('kind', 'knowledge_answer', 'article_id', v_article.id, 'article_title', v_article.title,
                              'content', left(v_article.body, 5000), 'rank', v_article.rank);
  end if;
  select * into v_settings from public.widget_settings where site_id = p_site_id;
  if exists (select 1 from public.site_members m where m.site_id = p_site_id and m.availability = 'online')
     and public.is_open(v_settings.business_hours, v_settings.timezone) then
    return null;
  end if;
  return jsonb_build_object('kind', 'away_message', 'content', v_settings.offline_message);
end;
$$;
comment on function public.automatic_answer_choice(uuid, text, real) is 'The automatic answer a visitor''s question would get now, or null.';
revoke execute on function public.automatic_answer_choice(uuid, text, real) from public, anon, authenticated;

create function public.try_automatic_answer(p_site_id uuid, p_question text)
returns jsonb
language plpgsql stable security definer
set search_path = ''
as $$
begin
  if not public.has_site_role(p_site_id, array['owner', 'admin', 'operator', 'viewer']) then
    perform public.refuse('forbidden', 'Only the site''s team may try its automatic answers.');
  end if;
  return coalesce(public.automatic_answer_choice(p_site_id, p_question), jsonb_build_object('kind', 'none'));
end;
$$;
comment on function public.try_automatic_answer(uuid, text) is 'For a site''s staff: what a visitor asking this now would be answered automatically.';
revoke execute on function public.try_automatic_answer(uuid, text) from public, anon;
grant execute on function public.try_automatic_answer(uuid, text) to authenticated;

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
