-- Lock order: session, then link. A visitor's message locks its session, then counts itself on
-- the session's link; cleanup_expired switched expired links off first and then ended their
-- sessions, so a message posted while its link expired could deadlock with the cleanup run.
-- The sessions of expired links are now ended first (the link rows are only read there), then
-- the links are switched off; what a run changes is the same.
-- Affects: cleanup_expired(timestamptz).

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
  update public.chat_sessions s
  set status = 'ended', ended_at = p_now,
      end_reason = case when l.expires_at <= p_now then 'link_expired' else 'link_deactivated' end
  from public.chat_links l
  where s.link_id = l.id and s.status = 'active' and (not l.is_active or l.expires_at <= p_now);
  get diagnostics v_link_sessions = row_count;

  update public.chat_links set is_active = false where is_active and expires_at <= p_now;
  get diagnostics v_links = row_count;

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
