// Conformance: the official @supabase/realtime-js client against the local Realtime server.
// Run by `cargo xtask test` (it starts the stack and sets STACK_*).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { RealtimeClient } from "@supabase/realtime-js";
import pg from "pg";
import { sign } from "../shared/jwt.mjs";

const apiUrl = process.env.STACK_API_URL;
const anonKey = process.env.STACK_PUBLISHABLE_KEY;
const serviceKey = process.env.STACK_SECRET_KEY;
assert.ok(apiUrl && anonKey && serviceKey, "run with `cargo xtask test`");
const endpoint = `${apiUrl.replace(/^http/, "ws")}/realtime/v1`;

const clients = [];
after(() => Promise.all(clients.map((c) => c.disconnect())));

/** A realtime-js client; `token` (a user JWT) is used for every channel. */
function connect({ token, vsn } = {}) {
  const client = new RealtimeClient(endpoint, { params: { apikey: anonKey }, vsn, timeout: 5000 });
  if (token) client.setAuth(token);
  clients.push(client);
  return client;
}

/** Resolves with the first status the subscription reports. */
function subscribe(channel) {
  return new Promise((resolve) => channel.subscribe((status, error) => resolve({ status, error })));
}

/** Collects what `register(cb)` reports. */
function collect(register) {
  const seen = [];
  register((value) => seen.push(value));
  return seen;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function rest(path, { method = "GET", body, key = serviceKey, prefer } = {}) {
  const headers = { apikey: key, authorization: `Bearer ${key}`, "content-type": "application/json" };
  if (prefer) headers.prefer = prefer;
  const response = await fetch(`${apiUrl}/rest/v1/${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A site with an owner and two conversations; `guest(conversation)` mints that conversation's guest token. */
async function siteWithConversations() {
  const response = await fetch(`${apiUrl}/auth/v1/signup`, {
    method: "POST",
    headers: { apikey: anonKey, "content-type": "application/json" },
    body: JSON.stringify({ email: `${randomUUID()}@example.test`, password: "correct horse battery" }),
  });
  const session = await response.json();
  assert.ok(session.access_token, JSON.stringify(session));
  const [site] = await rest("sites?select=id", {
    method: "POST",
    body: { owner_id: session.user.id, name: "Realtime shop", site_key: `rt-${randomUUID().slice(0, 8)}` },
    prefer: "return=representation",
  });
  const customers = await rest("customers?select=id", {
    method: "POST",
    body: [{ site_id: site.id, name: "First visitor" }, { site_id: site.id, name: "Second visitor" }],
    prefer: "return=representation",
  });
  const conversations = await rest("conversations?select=id,customer_id", {
    method: "POST",
    body: customers.map((customer) => ({ site_id: site.id, customer_id: customer.id })),
    prefer: "return=representation",
  });
  const sessions = await rest("chat_sessions?select=id,conversation_id,customer_id", {
    method: "POST",
    body: conversations.map((c) => ({ site_id: site.id, conversation_id: c.id, customer_id: c.customer_id })),
    prefer: "return=representation",
  });
  // The guest token the edge would mint for the conversation's session (every claim must
  // agree with the session, or it grants nothing).
  const guest = (conversation) => {
    const session = sessions.find((s) => s.conversation_id === conversation.id);
    return sign({
      sub: session.customer_id,
      role: "authenticated",
      guest: { site_id: site.id, conversation_id: conversation.id, session_id: session.id },
    });
  };
  return { site, ownerToken: session.access_token, conversations, guest };
}

const postMessage = (site, conversation, content) =>
  rest("messages", {
    method: "POST",
    body: { site_id: site.id, conversation_id: conversation.id, sender_type: "ai", content },
  });

test("public channel: binary broadcast with ack, self, and a vsn 1.0.0 listener", async () => {
  const topic = `room-${randomUUID()}`;
  const sender = connect().channel(topic, { config: { broadcast: { ack: true } } });
  const echo = connect().channel(topic, { config: { broadcast: { self: true } } });
  const legacy = connect({ vsn: "1.0.0" }).channel(topic);
  const senderSeen = collect((cb) => sender.on("broadcast", { event: "typing" }, cb));
  const echoSeen = collect((cb) => echo.on("broadcast", { event: "typing" }, cb));
  const legacySeen = collect((cb) => legacy.on("broadcast", { event: "typing" }, cb));
  for (const channel of [sender, echo, legacy]) assert.equal((await subscribe(channel)).status, "SUBSCRIBED");

  assert.equal(await sender.send({ type: "broadcast", event: "typing", payload: { typing: true } }), "ok");
  assert.equal(await echo.send({ type: "broadcast", event: "typing", payload: { from: "echo" } }), "ok");
  await sleep(300);
  assert.deepEqual(echoSeen.map((m) => m.payload), [{ typing: true }, { from: "echo" }]);
  assert.deepEqual(senderSeen.map((m) => m.payload), [{ from: "echo" }], "self is off by default");
  assert.deepEqual(legacySeen.map((m) => m.payload), [{ typing: true }, { from: "echo" }]);

  const tooBig = await sender.send({ type: "broadcast", event: "typing", payload: { text: "x".repeat(300_000) } });
  assert.notEqual(tooBig, "ok", "a payload over the limit is refused");
});

test("public and private topics of the same name are apart; REST broadcast reaches sockets", async () => {
  const topic = `room-${randomUUID()}`;
  const open = connect().channel(topic);
  const seen = collect((cb) => open.on("broadcast", { event: "note" }, cb));
  assert.equal((await subscribe(open)).status, "SUBSCRIBED");
  const send = (messages, key = anonKey) =>
    fetch(`${apiUrl}/realtime/v1/api/broadcast`, {
      method: "POST",
      headers: { apikey: key, "content-type": "application/json" },
      body: JSON.stringify({ messages }),
    });
  assert.equal((await send([{ topic, event: "note", payload: { n: 1 } }])).status, 202);
  assert.equal((await send([{ topic, event: "note", payload: { n: 2 }, private: true }], serviceKey)).status, 202);
  assert.equal((await send([{ topic, event: "note" }])).status, 422);
  assert.equal((await send([{ topic, event: "note", payload: {} }], "not-a-jwt")).status, 401);
  await sleep(300);
  assert.deepEqual(seen.map((m) => m.payload), [{ n: 1 }], "the private message stays in the private namespace");
});

test("private conversation topic: guest and site members join, others are refused", async () => {
  const { site, ownerToken, conversations, guest } = await siteWithConversations();
  const [mine, other] = conversations;
  const topic = `conversation:${mine.id}`;
  const config = { config: { private: true, broadcast: { ack: true } } };

  const visitor = connect({ token: guest(mine) }).channel(topic, config);
  const operator = connect({ token: ownerToken }).channel(topic, config);
  const stranger = connect({ token: guest(other) }).channel(topic, config);
  const anonymous = connect().channel(topic, config);
  const typing = collect((cb) => operator.on("broadcast", { event: "typing" }, cb));
  const inserted = collect((cb) => visitor.on("broadcast", { event: "INSERT" }, cb));

  assert.equal((await subscribe(visitor)).status, "SUBSCRIBED");
  assert.equal((await subscribe(operator)).status, "SUBSCRIBED");
  const refused = await subscribe(stranger);
  assert.equal(refused.status, "CHANNEL_ERROR");
  assert.match(String(refused.error?.message ?? refused.error), /Unauthorized: You do not have permissions to read from this Channel topic/);
  assert.equal((await subscribe(anonymous)).status, "CHANNEL_ERROR");

  assert.equal(await visitor.send({ type: "broadcast", event: "typing", payload: { typing: true } }), "ok");
  await postMessage(site, mine, "Hello from the shop");
  await postMessage(site, other, "Another visitor's message");
  await sleep(500);
  assert.deepEqual(typing.map((m) => m.payload), [{ typing: true }]);
  assert.equal(inserted.length, 1, "only this conversation's message arrives");
  assert.equal(inserted[0].payload.record.content, "Hello from the shop");
  assert.equal(inserted[0].payload.operation, "INSERT");
  assert.ok(inserted[0].meta?.id, "database broadcasts carry meta.id");
});

test("presence: track, sync on both sides, leave on disconnect", async () => {
  const topic = `lobby-${randomUUID()}`;
  const first = connect();
  const a = first.channel(topic, { config: { presence: { key: "operator-a" } } });
  const b = connect().channel(topic, { config: { presence: { key: "visitor-b" } } });
  const syncs = collect((cb) => b.on("presence", { event: "sync" }, () => cb(Object.keys(b.presenceState()).sort())));
  const leaves = collect((cb) => b.on("presence", { event: "leave" }, ({ key }) => cb(key)));
  a.on("presence", { event: "sync" }, () => {});
  assert.equal((await subscribe(a)).status, "SUBSCRIBED");
  assert.equal((await subscribe(b)).status, "SUBSCRIBED");
  assert.equal(await a.track({ name: "Maya", online_at: new Date().toISOString() }), "ok");
  assert.equal(await b.track({ name: "Visitor" }), "ok");
  await sleep(300);
  assert.deepEqual(syncs.at(-1), ["operator-a", "visitor-b"]);
  assert.equal(b.presenceState()["operator-a"][0].name, "Maya");
  first.disconnect();
  await sleep(500);
  assert.deepEqual(leaves, ["operator-a"]);
  assert.deepEqual(Object.keys(b.presenceState()), ["visitor-b"]);
});

// postgres_changes on a table of the tests' own (the product publishes none of its tables:
// RLS cannot guard a DELETE event, so its rows travel on private broadcast topics). The rows
// are written with SQL, as any writer of the database would.
let notesTable;
after(async () => (await notesTable)?.end());
async function notes() {
  notesTable ??= (async () => {
    const db = new pg.Client({ connectionString: process.env.STACK_DATABASE_URL });
    await db.connect();
    await db.query(`
      create schema if not exists conformance;
      grant usage on schema conformance to anon, authenticated;
      create table conformance.notes (
        id bigint generated always as identity primary key,
        owner_id uuid not null, room text not null, body text not null, status text not null default 'open');
      alter table conformance.notes enable row level security;
      create policy "owners read their notes" on conformance.notes for select to authenticated
        using (owner_id = (select auth.uid()));
      grant select on conformance.notes to anon, authenticated;
      alter publication supabase_realtime add table conformance.notes;`);
    return db;
  })();
  return notesTable;
}

const user = () => {
  const id = randomUUID();
  return { id, token: sign({ sub: id, role: "authenticated" }) };
};

test("postgres_changes: filter by column, RLS per subscriber", async () => {
  const db = await notes();
  const [alice, bob] = [user(), user()];
  const changes = { event: "INSERT", schema: "conformance", table: "notes" };
  const aliceChannel = connect({ token: alice.token }).channel(`notes-${randomUUID()}`);
  const filtered = collect((cb) => aliceChannel.on("postgres_changes", { ...changes, filter: "room=eq.lobby" }, cb));
  const bobChannel = connect({ token: bob.token }).channel(`notes-${randomUUID()}`);
  const bobSeen = collect((cb) => bobChannel.on("postgres_changes", changes, cb));
  const anonChannel = connect().channel(`notes-${randomUUID()}`);
  const anonSeen = collect((cb) => anonChannel.on("postgres_changes", changes, cb));
  const systems = collect((cb) => aliceChannel.on("system", {}, cb));
  for (const channel of [aliceChannel, bobChannel, anonChannel]) assert.equal((await subscribe(channel)).status, "SUBSCRIBED");
  await sleep(200);
  assert.ok(systems.some((s) => s.message === "Subscribed to PostgreSQL"), JSON.stringify(systems));

  const insert = (owner, room, body) =>
    db.query("insert into conformance.notes (owner_id, room, body) values ($1, $2, $3)", [owner.id, room, body]);
  await insert(alice, "lobby", "first");
  await insert(alice, "kitchen", "second");
  await insert(bob, "lobby", "bob's");
  await sleep(800);
  assert.deepEqual(filtered.map((c) => c.new.body), ["first"]);
  assert.equal(filtered[0].eventType, "INSERT");
  assert.equal(filtered[0].table, "notes");
  assert.ok(filtered[0].commit_timestamp.endsWith("Z"));
  assert.deepEqual(bobSeen.map((c) => c.new.body), ["bob's"], "RLS: bob sees only his own row");
  assert.deepEqual(anonSeen, [], "RLS: anon sees no row");
});

test("postgres_changes: UPDATE and DELETE with in/gt filters, integer ids, bad filters reported", async () => {
  const db = await notes();
  const owner = user();
  const channel = connect({ token: owner.token }).channel(`notes-${randomUUID()}`);
  const updates = collect((cb) =>
    channel.on("postgres_changes", { event: "UPDATE", schema: "conformance", table: "notes", filter: "status=in.(active,closed)" }, cb),
  );
  const deletes = collect((cb) =>
    channel.on("postgres_changes", { event: "DELETE", schema: "conformance", table: "notes", filter: "id=gt.0" }, cb),
  );
  const systems = collect((cb) => channel.on("system", {}, cb));
  assert.equal((await subscribe(channel)).status, "SUBSCRIBED");
  const ids = channel.bindings.postgres_changes.map((b) => b.id);
  assert.ok(ids.every(Number.isInteger) && ids.length === 2, `binding ids ${ids}`);

  const { rows } = await db.query(
    "insert into conformance.notes (owner_id, room, body) values ($1, 'a', 'one'), ($1, 'b', 'two') returning id::text",
    [owner.id],
  );
  const [first, second] = rows.map((r) => r.id);
  await db.query("update conformance.notes set status = 'pending' where id = $1", [first]);
  await db.query("update conformance.notes set status = 'active' where id = $1", [second]);
  await db.query("delete from conformance.notes where id = $1", [first]);
  await sleep(800);
  assert.deepEqual(updates.map((u) => [String(u.new.id), u.new.status]), [[second, "active"]], "only rows matching in.(active,closed)");
  assert.equal(String(updates[0].old.id), second, "old_record carries the primary key");
  assert.equal(deletes.length, 1);
  assert.deepEqual(Object.keys(deletes[0].old), ["id"], "a DELETE under RLS carries only the primary key");

  const broken = connect({ token: owner.token }).channel(`notes-${randomUUID()}`);
  const errors = collect((cb) => broken.on("system", {}, cb));
  broken.on("postgres_changes", { event: "*", schema: "conformance", table: "notes", filter: "nope=eq.1" }, () => {});
  assert.equal((await subscribe(broken)).status, "SUBSCRIBED");
  await sleep(300);
  assert.ok(errors.some((e) => e.status === "error" && /invalid column for filter nope/.test(e.message)), JSON.stringify(errors));
  assert.ok(systems.some((s) => s.message === "Subscribed to PostgreSQL"));
});

test("postgres_changes: nobody hears of the product's rows, deletions included", async () => {
  const shop = await siteWithConversations();
  const rival = await siteWithConversations();
  const [mine, other] = shop.conversations;
  const listeners = [
    ["anon", connect()],
    ["another site's owner", connect({ token: rival.ownerToken })],
    ["another conversation's guest", connect({ token: shop.guest(other) })],
    ["the site's own owner", connect({ token: shop.ownerToken })],
  ];
  const heard = [];
  for (const [who, client] of listeners) {
    const channel = client.channel(`spy-${randomUUID()}`);
    for (const table of ["messages", "conversations"]) {
      channel.on("postgres_changes", { event: "*", schema: "public", table }, (change) => heard.push([who, table, change.eventType]));
    }
    assert.equal((await subscribe(channel)).status, "SUBSCRIBED");
  }
  await sleep(200);
  await postMessage(shop.site, mine, "private words");
  await rest(`conversations?id=eq.${mine.id}`, { method: "PATCH", body: { priority: "high" } });
  await rest(`messages?conversation_id=eq.${mine.id}`, { method: "DELETE" });
  await sleep(800);
  assert.deepEqual(heard, [], "no table of the product is published");
});

test("tokens: refresh keeps the channel, expiry closes it with a system message", async () => {
  const topic = `room-${randomUUID()}`;
  const client = connect({ token: sign({ sub: randomUUID(), role: "authenticated" }, 3) });
  const channel = client.channel(topic);
  assert.equal((await subscribe(channel)).status, "SUBSCRIBED");
  await client.setAuth(sign({ sub: randomUUID(), role: "authenticated" }, 3600));
  await sleep(4000);
  assert.equal(channel.state, "joined", "a refreshed token keeps the channel open");

  const expiring = connect({ token: sign({ sub: randomUUID(), role: "authenticated" }, 2) });
  const doomed = expiring.channel(`room-${randomUUID()}`);
  const systems = collect((cb) => doomed.on("system", {}, cb));
  assert.equal((await subscribe(doomed)).status, "SUBSCRIBED");
  await sleep(3500);
  assert.ok(systems.some((s) => /Token has expired \d+ seconds ago/.test(s.message)), JSON.stringify(systems));
  assert.equal(doomed.state, "closed");

  const expired = connect({ token: sign({ sub: randomUUID(), role: "authenticated" }, -10) }).channel(`room-${randomUUID()}`);
  const refused = await subscribe(expired);
  assert.equal(refused.status, "CHANNEL_ERROR");
  assert.match(String(refused.error?.message ?? refused.error), /InvalidJWTToken: Token has expired/);
});

/** A WebSocket upgrade request; resolves with the HTTP answer when the server refuses it. */
function upgrade(query) {
  return new Promise((resolve, reject) => {
    const request = http.get(`${apiUrl}/realtime/v1/websocket?${query}`, {
      headers: { connection: "Upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" },
    });
    request.on("upgrade", (response, socket) => {
      socket.destroy();
      resolve({ status: response.statusCode });
    });
    request.on("response", (response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body: JSON.parse(body) }));
    });
    request.on("error", reject);
  });
}

test("handshake: a missing or forged API key is refused before the upgrade", async () => {
  assert.deepEqual(await upgrade("vsn=2.0.0"), { status: 401, body: { error: "API key is missing" } });
  assert.deepEqual(await upgrade("apikey=x.y.z&vsn=2.0.0"), {
    status: 401,
    body: { error: "The token provided is not a valid JWT" },
  });
  assert.equal((await upgrade(`apikey=${anonKey}&vsn=3.0.0`)).status, 400);
  assert.equal((await upgrade(`apikey=${anonKey}&vsn=2.0.0`)).status, 101);
});
