-- Team invitations: an owner or admin invites a person by email with a role (admin, operator or
-- viewer), a support level and a capacity. The invitation becomes a membership when that person,
-- signed in with that email confirmed by Auth, calls accept_invitations() (the console does after
-- every sign-in and sign-up), so an invitation holds no secret: the confirmed address is the
-- proof. Invitations last 14 days and are withdrawn by deleting them.
-- Owners are kept safe too (guard_member_update): only an owner makes or unmakes an owner, and
-- a site keeps at least one owner (last_owner); removing an owner stays refused by the delete
-- policy of site_members.
-- Lock order (README): a person's invitations first (site, then id order), then for each the
-- membership insert, whose triggers follow the order of member changes; a change of owners
-- takes the site's owners lock (advisory) after the member row it changes.
-- Affects: site_invitations (new), accept_invitations (new), team_members (new), guard_member_update.

create table public.site_invitations (
  id uuid primary key default gen_random_uuid(),
  site_id uuid not null references public.sites (id) on delete cascade,
  email text not null check (char_length(email) between 3 and 320 and email = lower(email) and email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
  display_name text check (char_length(display_name) between 1 and 80),
  role text not null default 'operator' check (role in ('admin', 'operator', 'viewer')),
  support_level text not null default 't1' check (support_level in ('t1', 't2', 't3', 'manager')),
  max_concurrent_chats integer not null default 5 check (max_concurrent_chats between 1 and 50),
  invited_by uuid default auth.uid() references auth.users (id) on delete set null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '14 days',
  accepted_at timestamptz,
  accepted_by uuid references auth.users (id) on delete set null,
  check ((accepted_at is null) = (accepted_by is null))
);
comment on table public.site_invitations is 'A person invited by email to work on a site; becomes a site_members row when they accept by signing in.';
create unique index site_invitations_pending_idx on public.site_invitations (site_id, email) where accepted_at is null;
create index site_invitations_email_idx on public.site_invitations (email) where accepted_at is null;

alter table public.site_invitations enable row level security;
create policy "Owners and admins see their sites' invitations" on public.site_invitations
  for select to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
create policy "Owners and admins invite" on public.site_invitations
  for insert to authenticated
  with check (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[])
              and invited_by = (select auth.uid()) and accepted_at is null);
create policy "Owners and admins withdraw invitations" on public.site_invitations
  for delete to authenticated using (site_id = any ((select public.member_site_ids(array['owner', 'admin']))::uuid[]));
-- No update policy: only accept_invitations() changes an invitation.

-- Accept every pending invitation to the caller's confirmed email: each becomes a membership
-- (kept as it is when the caller already works on that site). Returns the sites joined.
create function public.accept_invitations() returns uuid[]
language plpgsql security definer
set search_path = ''
as $$
declare
  v_email text;
  v_invitation public.site_invitations%rowtype;
  v_sites uuid[] := '{}';
begin
  if auth.uid() is null then
    perform public.refuse('unauthorized', 'Sign in to accept an invitation.');
  end if;
  select lower(u.email) into v_email from auth.users u where u.id = auth.uid() and u.email_confirmed_at is not null;
  if v_email is null then
    return v_sites;
  end if;
  for v_invitation in
    select * from public.site_invitations i
    where i.email = v_email and i.accepted_at is null and i.expires_at > now()
    order by i.site_id, i.id
    for update
  loop
    insert into public.site_members (site_id, user_id, role, support_level, max_concurrent_chats, display_name)
    values (v_invitation.site_id, auth.uid(), v_invitation.role, v_invitation.support_level,
            v_invitation.max_concurrent_chats, v_invitation.display_name)
    on conflict (site_id, user_id) do nothing;
    update public.site_invitations set accepted_at = now(), accepted_by = auth.uid() where id = v_invitation.id;
    v_sites := v_sites || v_invitation.site_id;
  end loop;
  return v_sites;
end;
$$;
comment on function public.accept_invitations() is 'Turns the caller''s pending invitations (by confirmed email) into memberships.';
revoke execute on function public.accept_invitations() from public, anon;
grant execute on function public.accept_invitations() to authenticated;

-- Members change only their own availability, name and picture unless they are an owner or
-- admin; only owners make or unmake owners; the last owner stays.
create or replace function public.guard_member_update() returns trigger
language plpgsql security definer
set search_path = ''
as $$
begin
  if auth.role() = 'service_role' or auth.uid() is null then
    return new;
  end if;
  if not public.has_site_role(old.site_id, array['owner', 'admin'])
     and (new.site_id, new.user_id, new.role, new.max_concurrent_chats, new.support_level)
         is distinct from (old.site_id, old.user_id, old.role, old.max_concurrent_chats, old.support_level) then
    perform public.refuse('forbidden', 'You may change only your own availability, name and picture.');
  end if;
  if new.role is distinct from old.role and 'owner' in (old.role, new.role) then
    if not public.has_site_role(old.site_id, array['owner']) then
      perform public.refuse('forbidden', 'Only an owner may make someone an owner or stop being one.');
    end if;
    -- Owner changes of a site take turns, so two owners demoting each other leave one.
    perform pg_advisory_xact_lock(hashtextextended('site_owners:' || old.site_id::text, 0));
    if old.role = 'owner' and not exists (
      select 1 from public.site_members m
      where m.site_id = old.site_id and m.role = 'owner' and m.user_id <> old.user_id
    ) then
      perform public.refuse('last_owner', 'A site keeps at least one owner: make someone else an owner first.');
    end if;
  end if;
  return new;
end;
$$;

-- The people of a site with the addresses they sign in with, for its owners and admins
-- (auth.users is not readable through the API). Owners first, then admins, operators, viewers.
create function public.team_members(p_site_id uuid)
returns table (user_id uuid, email text, role text, display_name text, support_level text,
               max_concurrent_chats integer, availability text)
language plpgsql stable security definer
set search_path = ''
as $$
begin
  if not public.has_site_role(p_site_id, array['owner', 'admin']) then
    perform public.refuse('forbidden', 'Only the site''s owners and admins see its team.');
  end if;
  return query
    select m.user_id, u.email::text, m.role, m.display_name, m.support_level, m.max_concurrent_chats, m.availability
    from public.site_members m join auth.users u on u.id = m.user_id
    where m.site_id = p_site_id
    order by array_position(array['owner', 'admin', 'operator', 'viewer'], m.role), u.email;
end;
$$;
comment on function public.team_members(uuid) is 'A site''s members with their sign-in emails, for its owners and admins.';
revoke execute on function public.team_members(uuid) from public, anon;
grant execute on function public.team_members(uuid) to authenticated;
