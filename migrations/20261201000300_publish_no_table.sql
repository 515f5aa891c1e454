-- Nothing is published where RLS cannot guard it. Realtime applies RLS to a subscriber's
-- INSERT and UPDATE events, but never to DELETE events (a deleted row can no longer be read
-- as the subscriber), so with messages and conversations in the publication anybody holding
-- the anon key learned the id of every deleted message (retention purges delete in bulk).
-- Hosted Supabase behaves the same way. The product's rows already travel on private
-- broadcast topics authorized per conversation and site (migration 20261121000900): the
-- console uses those, so no table of this schema is published.
-- Affects: the supabase_realtime publication.

alter publication supabase_realtime drop table public.messages, public.conversations;
