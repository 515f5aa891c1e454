-- New chats are rate limited per visitor address and per site. One client opened 32 sessions
-- in 28 seconds unrefused. Now each site takes at most 10 new sessions a minute from one IP
-- address (CF-Connecting-IP, when the edge knows it and it is not loopback) and 300 a minute in all
-- (chat_core::limits::SESSION_STARTS_PER_IP_PER_MINUTE and _PER_SITE_PER_MINUTE); past
-- that, starting a chat or opening a link refuses with rate_limited and the seconds to wait.
-- The count is taken where every session is born, a trigger on chat_sessions, so widget
-- starts and link opens share it, and a refused start leaves no row behind.
-- Lock order: a start locks its site's window row, then its address's row, after anything
-- else it holds (the link of a link open) and before nothing else; windows older than ten
-- minutes of the same site are removed on the way (the site row serializes that).
-- Affects: session_start_windows (new), count_session_start() (trigger on chat_sessions).

create table public.session_start_windows (
  site_id uuid not null references public.sites (id) on delete cascade,
  scope text not null check (scope = 'site' or scope ~ '^ip:[0-9a-f.:]{2,45}$'),
  window_start timestamptz not null,
  starts integer not null check (starts >= 0),
  primary key (site_id, scope)
);
comment on table public.session_start_windows is
  'Sessions started per site and per visitor address in the current minute (rate limits). Readable by no API role.';
alter table public.session_start_windows enable row level security;
-- No policy on purpose: only the trigger below and the service role touch it.
revoke all on public.session_start_windows from anon, authenticated;

create function public.count_session_start() returns trigger
language plpgsql security definer
set search_path = ''
as $$
declare
  v_now timestamptz := new.started_at;
  -- A loopback address is a local stack (workerd reports 127.0.0.1 for every request there;
  -- Cloudflare never does): counted per site only.
  v_scopes text[] := array['site'] || case when new.ip_address is null or new.ip_address << inet '127.0.0.0/8'
                                                or new.ip_address = inet '::1' then '{}'::text[]
                                           else array['ip:' || host(new.ip_address)] end;
  v_scope text;
  v_window timestamptz;
  v_starts integer;
begin
  foreach v_scope in array v_scopes loop
    insert into public.session_start_windows as w (site_id, scope, window_start, starts)
    values (new.site_id, v_scope, v_now, 1)
    on conflict (site_id, scope) do update
      set window_start = case when w.window_start <= v_now - interval '1 minute' then v_now else w.window_start end,
          starts = case when w.window_start <= v_now - interval '1 minute' then 1 else w.starts + 1 end
    returning window_start, starts into v_window, v_starts;
    if v_starts > (case when v_scope = 'site' then 300 else 10 end) then
      perform public.refuse('rate_limited', 'Too many new chats; please wait a moment.',
        greatest(1, ceil(extract(epoch from v_window + interval '1 minute' - v_now)))::integer::text);
    end if;
    if v_scope = 'site' then
      delete from public.session_start_windows
      where site_id = new.site_id and scope <> 'site' and window_start < v_now - interval '10 minutes';
    end if;
  end loop;
  return new;
end;
$$;
revoke execute on function public.count_session_start() from public, anon, authenticated;
create trigger count_session_start before insert on public.chat_sessions
  for each row execute function public.count_session_start();
