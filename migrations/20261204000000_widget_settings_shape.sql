-- The settings form's checks are the database's too (chat_core::settings, chat_core::limits):
-- a site's own pre-chat fields are at most 20 objects {key, label, required?} with a key of
-- lowercase letters, digits and _ starting with a letter (at most 40), unique, and a label of 1 to
-- 80 characters; business hours name only weekdays and "closed", each weekday has at most four
-- spans ["HH:MM", "HH:MM"] opening before closing, and "closed" lists at most 100 dates
-- (YYYY-MM-DD, years 1000 to 2999) the site is shut all day, which is_open now honours.
-- Before, any JSON array or object was taken, and a field without a key or hours of "9am" were
-- stored and then silently ignored by the widget and by is_open.
-- A database already holding other values fails here, naming the constraint.
-- Affects: custom_fields_valid, business_hours_valid (new), is_open (closed dates), two checks
-- on widget_settings.

create function public.custom_fields_valid(p_fields jsonb) returns boolean
language sql immutable
set search_path = ''
as $$
  select case when jsonb_typeof(p_fields) is distinct from 'array' then false
  else jsonb_array_length(p_fields) <= 20
    and not exists (
      select 1 from jsonb_array_elements(p_fields) f
      where (jsonb_typeof(f) = 'object'
             and jsonb_typeof(f -> 'key') = 'string' and (f ->> 'key') ~ '^[a-z][a-z0-9_]{0,39}$'
             and jsonb_typeof(f -> 'label') = 'string' and char_length(f ->> 'label') between 1 and 80
             and coalesce(jsonb_typeof(f -> 'required'), 'boolean') = 'boolean') is not true)
    and (select count(distinct f ->> 'key') from jsonb_array_elements(p_fields) f) = jsonb_array_length(p_fields)
  end
$$;
comment on function public.custom_fields_valid(jsonb) is 'Whether a site''s pre-chat fields have the shape the widget reads.';

create function public.business_hours_valid(p_hours jsonb) returns boolean
language sql immutable
set search_path = ''
as $$
  select case
    when p_hours is null then true
    when jsonb_typeof(p_hours) <> 'object' then false
    else not exists (
      select 1 from jsonb_each(p_hours) d
      where case
        when d.key = 'closed' then (
          jsonb_typeof(d.value) = 'array' and jsonb_array_length(d.value) <= 100
          and not exists (
            select 1 from jsonb_array_elements(d.value) c
            where (jsonb_typeof(c) = 'string'
                   and (c #>> '{}') ~ '^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$'
                   and substr(c #>> '{}', 9, 2)::integer <= extract(day from
                     make_date(substr(c #>> '{}', 1, 4)::integer, substr(c #>> '{}', 6, 2)::integer, 1)
                     + interval '1 month - 1 day')) is not true))
        when d.key in ('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun') then (
          jsonb_typeof(d.value) = 'array' and jsonb_array_length(d.value) <= 4
          and not exists (
            select 1 from jsonb_array_elements(d.value) s
            where (jsonb_typeof(s) = 'array' and jsonb_array_length(s) = 2
                   and jsonb_typeof(s -> 0) = 'string' and jsonb_typeof(s -> 1) = 'string'
                   and (s ->> 0) ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
                   and (s ->> 1) ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'
                   and (s ->> 0) < (s ->> 1)) is not true))
        else false
      end is not true)
  end
$$;
comment on function public.business_hours_valid(jsonb) is 'Whether business hours have the shape is_open reads.';

revoke execute on function public.custom_fields_valid(jsonb) from public, anon;
revoke execute on function public.business_hours_valid(jsonb) from public, anon;
grant execute on function public.custom_fields_valid(jsonb) to authenticated, service_role;
grant execute on function public.business_hours_valid(jsonb) to authenticated, service_role;

alter table public.widget_settings
  add constraint widget_settings_custom_fields_valid check (public.custom_fields_valid(custom_fields)),
  add constraint widget_settings_business_hours_valid check (public.business_hours_valid(business_hours));

-- Closed on the dates listed under "closed" (the site's calendar date), else as before.
create or replace function public.is_open(p_hours jsonb, p_timezone text, p_at timestamptz default now())
returns boolean
language sql stable
set search_path = ''
as $$
  select case
    when p_hours is null then true
    when coalesce(p_hours -> 'closed', '[]') ? to_char(p_at at time zone p_timezone, 'YYYY-MM-DD') then false
    else exists (
      select 1
      from jsonb_array_elements(coalesce(p_hours -> lower(to_char(p_at at time zone p_timezone, 'Dy')), '[]')) span
      where (p_at at time zone p_timezone)::time >= (span ->> 0)::time
        and (p_at at time zone p_timezone)::time < (span ->> 1)::time
    )
  end
$$;
