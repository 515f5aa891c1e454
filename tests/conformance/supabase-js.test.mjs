// Conformance: the official @supabase/supabase-js client against the local stand-in.
// Run by `cargo xtask test` (it starts the stack and sets STACK_*).
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { createClient } from "@supabase/supabase-js";

const url = process.env.STACK_API_URL;
const anonKey = process.env.STACK_PUBLISHABLE_KEY;
assert.ok(url && anonKey, "run with `cargo xtask test`");

const client = () => createClient(url, anonKey, { auth: { persistSession: false, autoRefreshToken: false } });
const unique = (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`;

async function signedUpClient(prefix) {
  const supabase = client();
  const email = `${unique(prefix)}@example.test`;
  const { data, error } = await supabase.auth.signUp({ email, password: "correct horse battery" });
  assert.ifError(error);
  assert.ok(data.session?.access_token, "signUp returns a session");
  assert.equal(data.user.email, email);
  return { supabase, email };
}

test("auth: sign up, sign in, get user, refresh, sign out", async () => {
  const { supabase, email } = await signedUpClient("auth");
  const fresh = client();
  const wrong = await fresh.auth.signInWithPassword({ email, password: "wrong password" });
  assert.equal(wrong.error?.code, "invalid_credentials");
  const { data, error } = await fresh.auth.signInWithPassword({ email, password: "correct horse battery" });
  assert.ifError(error);
  assert.equal(data.user.email, email);

  const user = await fresh.auth.getUser();
  assert.ifError(user.error);
  assert.equal(user.data.user.id, data.user.id);

  const refreshed = await fresh.auth.refreshSession();
  assert.ifError(refreshed.error);
  assert.notEqual(refreshed.data.session.refresh_token, data.session.refresh_token);

  const token = refreshed.data.session.access_token;
  assert.ifError((await fresh.auth.signOut()).error);
  const after = await fresh.auth.getUser(token);
  assert.ok(after.error, "a signed-out session's token is refused");
  assert.ifError((await supabase.auth.signOut()).error);
});

test("rest: bulk insert, filters with spaces, update, rpc, delete, under RLS", async () => {
  const { supabase: alice } = await signedUpClient("alice");
  const { supabase: bob } = await signedUpClient("bob");
  const [first, second] = [unique("first"), unique("second")];

  const inserted = await alice
    .from("sites")
    .insert([
      { name: "My first site", site_key: first },
      { name: "Second shop & co", site_key: second },
    ])
    .select("name, site_key");
  assert.ifError(inserted.error);
  assert.equal(inserted.data.length, 2);

  const bySpacedName = await alice.from("sites").select("name, site_key").eq("name", "My first site");
  assert.ifError(bySpacedName.error);
  assert.deepEqual(bySpacedName.data, [{ name: "My first site", site_key: first }]);

  const byOr = await alice
    .from("sites")
    .select("site_key")
    .or("name.eq.My first site,name.eq.Second shop & co")
    .order("site_key");
  assert.ifError(byOr.error);
  assert.deepEqual(byOr.data.map((r) => r.site_key), [first, second].sort());

  const byIlike = await alice.from("sites").select("site_key").ilike("name", "%first site%");
  assert.deepEqual(byIlike.data, [{ site_key: first }]);

  const updated = await alice.from("sites").update({ name: "My renamed site" }).eq("site_key", first).select("name");
  assert.ifError(updated.error);
  assert.deepEqual(updated.data, [{ name: "My renamed site" }]);

  const settings = await alice
    .from("widget_settings")
    .update({ welcome_message: "Hello from the conformance test", primary_color: "#112233" })
    .eq("site_id", (await alice.from("sites").select("id").eq("site_key", first).single()).data.id)
    .select("welcome_message");
  assert.ifError(settings.error);
  assert.equal(settings.data.length, 1);

  const rpc = await alice.rpc("widget_config", { site_key: first });
  assert.ifError(rpc.error);
  assert.equal(rpc.data.site_name, "My renamed site");
  assert.equal(rpc.data.welcome_message, "Hello from the conformance test");
  assert.equal(rpc.data.theme.primary_color, "#112233");

  // Bob sees none of Alice's rows and cannot change them.
  const bobSees = await bob.from("sites").select("*");
  assert.ifError(bobSees.error);
  assert.deepEqual(bobSees.data, []);
  const bobUpdates = await bob.from("sites").update({ name: "hijacked" }).eq("site_key", first).select();
  assert.deepEqual(bobUpdates.data, []);
  const bobDeletes = await bob.from("sites").delete().eq("site_key", first).select();
  assert.deepEqual(bobDeletes.data, []);
  const bobSettings = await bob.from("widget_settings").select("*");
  assert.deepEqual(bobSettings.data, []);
  const bobSteals = await bob.from("sites").insert({ name: "stolen", site_key: unique("stolen"), owner_id: (await alice.auth.getUser()).data.user.id });
  assert.equal(bobSteals.error?.code, "42501");

  // Not signed in: nothing to see, but the public RPC works.
  const anon = client();
  assert.deepEqual((await anon.from("sites").select("*")).data, []);
  assert.equal((await anon.rpc("widget_config", { site_key: first })).data.site_key, first);
  assert.equal((await anon.rpc("widget_config", { site_key: "no-such-site" })).data, null);

  const deleted = await alice.from("sites").delete().eq("site_key", second).select("site_key");
  assert.ifError(deleted.error);
  assert.deepEqual(deleted.data, [{ site_key: second }]);
  const left = await alice.from("sites").select("site_key", { count: "exact" });
  assert.equal(left.count, 1);
  assert.equal((await alice.from("sites").select("name").eq("site_key", first).single()).data.name, "My renamed site");
});

test("rest: errors have PostgREST's shape", async () => {
  const { supabase } = await signedUpClient("errors");
  const bad = await supabase.from("sites").insert({ name: "bad key", site_key: "NOT VALID" });
  assert.equal(bad.error?.code, "23514");
  const missing = await supabase.from("no_such_table").select("*");
  assert.ok(missing.error, "unknown table is an error");
});

test("rpc: an operator works a conversation through the lifecycle functions, under RLS", async () => {
  const { supabase: owner } = await signedUpClient("owner");
  const { supabase: operator } = await signedUpClient("operator");
  const operatorId = (await operator.auth.getUser()).data.user.id;
  const siteKey = unique("desk");
  const site = await owner.from("sites").insert({ name: "Desk", site_key: siteKey }).select("id").single();
  assert.ifError(site.error);
  const siteId = site.data.id;
  assert.ifError((await owner.from("site_members").insert({ site_id: siteId, user_id: operatorId, role: "operator", availability: "online" })).error);

  // A visitor starts a chat (the edge does this with the secret key).
  const service = createClient(url, process.env.STACK_SECRET_KEY, { auth: { persistSession: false, autoRefreshToken: false } });
  const started = await service.rpc("start_widget_session", { p_site_key: siteKey, p_token_hash: "ab".repeat(32) });
  assert.ifError(started.error);
  const conversation = started.data.conversation_id;

  // Auto-assignment (on by default) gave it to the one operator online.
  const mine = await operator.from("conversations").select("status, assigned_operator_id").eq("id", conversation).single();
  assert.ifError(mine.error);
  assert.deepEqual(mine.data, { status: "active", assigned_operator_id: operatorId });

  const direct = await operator.from("conversations").update({ status: "closed" }).eq("id", conversation);
  assert.equal(direct.error?.code, "42501", "the state changes only through the functions");

  const note = await operator.from("messages").insert({
    conversation_id: conversation, site_id: siteId, sender_type: "operator", sender_user_id: operatorId,
    content: "Staff only", internal: true,
  });
  assert.ifError(note.error);
  const read = await operator.rpc("mark_conversation_read", { p_conversation_id: conversation });
  assert.ifError(read.error);

  const closed = await operator.rpc("close_conversation", { p_conversation_id: conversation });
  assert.ifError(closed.error);
  assert.equal(closed.data.closed_by, operatorId);
  const snooze = await operator.rpc("snooze_conversation", { p_conversation_id: conversation });
  assert.equal(snooze.error?.message, "conversation_closed");
  const reopened = await operator.rpc("reopen_conversation", { p_conversation_id: conversation });
  assert.equal(reopened.data.assigned_operator_id, operatorId, "offered back to its operator");
  const queued = await operator.rpc("transfer_conversation", { p_conversation_id: conversation, p_operator_id: null, p_note: null });
  assert.ifError(queued.error);
  assert.equal(queued.data.status, "waiting");

  const notYours = await operator.rpc("assign_conversation", { p_conversation_id: conversation, p_operator_id: operatorId });
  assert.equal(notYours.error?.message, "forbidden");
  const assigned = await owner.rpc("assign_conversation", { p_conversation_id: conversation, p_operator_id: operatorId });
  assert.ifError(assigned.error);
  assert.equal(assigned.data.status, "active");

  const canned = await operator.from("canned_responses").insert({ site_id: siteId, shortcut: "refund", content: "On its way." }).select("shortcut");
  assert.ifError(canned.error);
  assert.deepEqual((await owner.from("canned_responses").select("shortcut, content")).data, [{ shortcut: "refund", content: "On its way." }]);
  const { supabase: outsider } = await signedUpClient("outsider");
  assert.deepEqual((await outsider.from("canned_responses").select("*")).data, []);
  const hidden = await outsider.rpc("close_conversation", { p_conversation_id: conversation });
  assert.equal(hidden.error?.message, "conversation_not_found");
});
