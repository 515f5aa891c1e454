-- Concurrent inserts into one conversation could deadlock: the foreign-key check of each new
-- message takes a KEY SHARE lock on the conversation, then count_new_message asks FOR UPDATE;
-- two transactions both holding KEY SHARE wait on each other. Taking the row lock first, in a
-- BEFORE trigger (foreign-key checks run after the row is written), makes the second insert wait
-- for the first instead.
create or replace function public.lock_conversation_for_message() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  perform 1 from public.conversations where id = new.conversation_id for update;
  return new;
end;
$$;
revoke execute on function public.lock_conversation_for_message() from public, anon, authenticated;
create trigger lock_conversation before insert on public.messages
  for each row execute function public.lock_conversation_for_message();
