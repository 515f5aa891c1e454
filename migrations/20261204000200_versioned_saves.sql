-- Settings are saved only over the version they were read at (optimistic concurrency): the
-- console sends the row's updated_at with the new values, and a row saved by someone else in
-- between is not overwritten: version_conflict (409), nothing written, and the console offers
-- the other person's version. One call each for a site's widget settings (the columns the
-- widget honours and the assignment settings; a key left out keeps its value) and for its name
-- and allowed origins. Both run as the caller, so row-level security decides who may save;
-- whoever may not gets forbidden. They raise their refusals themselves (public.refuse is not
-- the caller's to run), in its shape: the code as the message, the sentence as the detail.
-- (The devstack's REST cannot filter a timestamptz column with eq., which PATCH
-- ...?updated_at=eq.<version> would need; a typed argument works the same on both.)
-- Affects: save_widget_settings, save_site (new).

create function public.save_widget_settings(p_site_id uuid, p_version timestamptz, p_settings jsonb)
returns public.widget_settings
language plpgsql
set search_path = ''
as $$
declare
  v_new public.widget_settings := jsonb_populate_record(null::public.widget_settings, p_settings);
  v_saved public.widget_settings;
begin
  update public.widget_settings w set
    enabled = case when p_settings ? 'enabled' then v_new.enabled else w.enabled end,
    title = case when p_settings ? 'title' then v_new.title else w.title end,
    welcome_message = case when p_settings ? 'welcome_message' then v_new.welcome_message else w.welcome_message end,
    offline_message = case when p_settings ? 'offline_message' then v_new.offline_message else w.offline_message end,
    primary_color = case when p_settings ? 'primary_color' then v_new.primary_color else w.primary_color end,
    text_color = case when p_settings ? 'text_color' then v_new.text_color else w.text_color end,
    background_color = case when p_settings ? 'background_color' then v_new.background_color else w.background_color end,
    color_scheme = case when p_settings ? 'color_scheme' then v_new.color_scheme else w.color_scheme end,
    position = case when p_settings ? 'position' then v_new.position else w.position end,
    show_agent_photos = case when p_settings ? 'show_agent_photos' then v_new.show_agent_photos else w.show_agent_photos end,
    show_typing_indicator = case when p_settings ? 'show_typing_indicator' then v_new.show_typing_indicator else w.show_typing_indicator end,
    require_name = case when p_settings ? 'require_name' then v_new.require_name else w.require_name end,
    require_email = case when p_settings ? 'require_email' then v_new.require_email else w.require_email end,
    require_phone = case when p_settings ? 'require_phone' then v_new.require_phone else w.require_phone end,
    custom_fields = case when p_settings ? 'custom_fields' then v_new.custom_fields else w.custom_fields end,
    timezone = case when p_settings ? 'timezone' then v_new.timezone else w.timezone end,
    business_hours = case when p_settings ? 'business_hours' then v_new.business_hours else w.business_hours end,
    auto_assignment = case when p_settings ? 'auto_assignment' then v_new.auto_assignment else w.auto_assignment end,
    offline_grace_minutes = case when p_settings ? 'offline_grace_minutes' then v_new.offline_grace_minutes else w.offline_grace_minutes end
  where w.site_id = p_site_id and w.updated_at = p_version
  returning w.* into v_saved;
  if found then
    return v_saved;
  end if;
  if not public.has_site_role(p_site_id, array['owner', 'admin']) then
    raise exception using errcode = 'P0001', message = 'forbidden',
      detail = 'Only the site''s owners and admins may change the widget.';
  end if;
  raise exception using errcode = 'P0001', message = 'version_conflict',
    detail = 'Someone else saved these settings after you opened them. Nothing of yours was saved: load their version, then make your changes again.';
end;
$$;
comment on function public.save_widget_settings(uuid, timestamptz, jsonb) is 'Saves a site''s widget settings if they are still at p_version.';

create function public.save_site(p_site_id uuid, p_version timestamptz, p_name text, p_allowed_origins text[])
returns public.sites
language plpgsql
set search_path = ''
as $$
declare
  v_saved public.sites;
begin
  update public.sites s set name = p_name, allowed_origins = p_allowed_origins
  where s.id = p_site_id and s.updated_at = p_version
  returning s.* into v_saved;
  if found then
    return v_saved;
  end if;
  if not public.has_site_role(p_site_id, array['owner', 'admin']) then
    raise exception using errcode = 'P0001', message = 'forbidden',
      detail = 'Only the site''s owners and admins may change it.';
  end if;
  raise exception using errcode = 'P0001', message = 'version_conflict',
    detail = 'Someone else saved this site after you opened it. Nothing of yours was saved: load their version, then make your changes again.';
end;
$$;
comment on function public.save_site(uuid, timestamptz, text, text[]) is 'Saves a site''s name and allowed origins if it is still at p_version.';

revoke execute on function public.save_widget_settings(uuid, timestamptz, jsonb) from public, anon;
revoke execute on function public.save_site(uuid, timestamptz, text, text[]) from public, anon;
grant execute on function public.save_widget_settings(uuid, timestamptz, jsonb) to authenticated;
grant execute on function public.save_site(uuid, timestamptz, text, text[]) to authenticated;
