-- A site's allowed origins must be origins, as a browser sends them in its Origin header: http or
-- https, a lowercase host (a name, an IPv4 address or a bracketed IPv6 one), an optional port,
-- nothing after it (no path, no trailing slash, no wildcard), at most 50 of them
-- (chat_core::limits::ORIGINS_PER_SITE, ORIGIN_CHARS). The edge compares the page's origin with
-- them exactly, so "https://shop.example/" never matched anything: it is refused when saved
-- instead of silently locking every visitor out.
-- Affects: origins_valid (new), a check on sites.allowed_origins.

create function public.origins_valid(p_origins text[]) returns boolean
language sql immutable
set search_path = ''
as $$
  select cardinality(p_origins) <= 50 and coalesce(bool_and(
    char_length(o) <= 255
    and o ~ '^https?://([a-z0-9]([a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$'), true)
  from unnest(p_origins) as o
$$;
revoke execute on function public.origins_valid(text[]) from public, anon;
grant execute on function public.origins_valid(text[]) to authenticated, service_role;
alter table public.sites add constraint sites_allowed_origins_check check (public.origins_valid(allowed_origins));
