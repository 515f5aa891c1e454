-- Cleanup: expire links, end sessions whose link expired or whose visitor went idle past the
-- timeout, release idle assignments, purge messages past each site's retention. Idempotent:
-- a second run in the same instant changes nothing. Scheduled every 15 minutes by pg_cron
-- where pg_cron is installed (Supabase), and called by the edge's scheduled handler.
-- Affects: cleanup_expired(timestamptz), cron job "chat-cleanup".

create or replace function public.cleanup_expired(p_now timestamptz default now()) returns jsonb
language plpgsql security definer
set search_path = ''
as $$
declare
  v_links integer;
  v_link_sessions integer;
  v_idle_sessions integer;
  v_assignments integer;
  v_purged integer;
begin
  update public.chat_links set is_active = false where is_active and expires_at <= p_now;
  get diagnostics v_links = row_count;

  update public.chat_sessions s
  set status = 'ended', ended_at = p_now,
      end_reason = case when l.expires_at <= p_now then 'link_expired' else 'link_deactivated' end
  from public.chat_links l
  where s.link_id = l.id and s.status = 'active' and (not l.is_active or l.expires_at <= p_now);
  get diagnostics v_link_sessions = row_count;

  update public.chat_sessions
  set status = 'ended', ended_at = p_now, end_reason = 'timeout'
  where status = 'active' and last_activity_at + make_interval(mins => timeout_minutes) <= p_now;
  get diagnostics v_idle_sessions = row_count;

  v_assignments := public.detect_idle_assignments(5, p_now);

  -- Bounded per run so one call never holds locks for long; the next run continues.
  delete from public.messages m
  where m.id in (
    select m2.id from public.messages m2 join public.sites s on s.id = m2.site_id
    where m2.created_at < p_now - make_interval(days => s.retention_days)
    limit 10000
  );
  get diagnostics v_purged = row_count;
  delete from public.message_history h using public.sites s
  where s.id = h.site_id and h.changed_at < p_now - make_interval(days => s.retention_days);

  return jsonb_build_object('links_expired', v_links, 'link_sessions_ended', v_link_sessions,
                            'idle_sessions_ended', v_idle_sessions, 'assignments_released', v_assignments,
                            'messages_purged', v_purged);
end;
$$;
revoke execute on function public.cleanup_expired(timestamptz) from public, anon, authenticated;
grant execute on function public.cleanup_expired(timestamptz) to service_role;

-- Schedule it with pg_cron where it can run in this database (Supabase: enable the extension
-- and this schedules the job). Where pg_cron is missing or not preloaded, say so and go on:
-- the edge's scheduled handler calls the same function.
do $$
begin
  if exists (select 1 from pg_catalog.pg_available_extensions where name = 'pg_cron') then
    create extension if not exists pg_cron;
    perform cron.schedule('chat-cleanup', '*/15 * * * *', 'select public.cleanup_expired()');
  else
    raise notice 'pg_cron is not available; schedule public.cleanup_expired() elsewhere';
  end if;
exception when others then
  raise notice 'pg_cron cannot be used in this database (%); schedule public.cleanup_expired() elsewhere', sqlerrm;
end
$$;
