// Browser: the widget's live connection (Supabase Realtime) against an operator using the
// official realtime-js client. Run by `cargo xtask test`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { RealtimeClient } from "@supabase/realtime-js";
import { sign } from "../shared/jwt.mjs";
import { DEMO_OWNER_ID, DEMO_SITE_ID, api, launch, rest, restartDevstack, savedSession, setDemoSettings, site } from "./support.mjs";

const anonKey = process.env.STACK_PUBLISHABLE_KEY;
assert.ok(anonKey, "run with `cargo xtask test`");
let browser;
const operators = [];
before(async () => {
  browser = await launch();
  await rest(`sites?id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: { allowed_origins: [site] } });
  await setDemoSettings({ require_name: false, require_email: false, require_phone: false, show_typing_indicator: true });
});
after(async () => {
  await Promise.all(operators.map((o) => o.disconnect()));
  await browser?.close();
});

/** The demo owner, as the console would connect. */
function operator() {
  const client = new RealtimeClient(`${api.replace(/^http/, "ws")}/realtime/v1`, { params: { apikey: anonKey } });
  client.setAuth(sign({ sub: DEMO_OWNER_ID, role: "authenticated" }));
  operators.push(client);
  return client;
}

function subscribed(channel) {
  return new Promise((resolve, reject) =>
    channel.subscribe((status, error) => (status === "SUBSCRIBED" ? resolve() : reject(error ?? new Error(status)))),
  );
}

async function startChat(page) {
  await page.goto(site);
  await page.locator("[data-testid=chat-launcher]").click();
  await page.locator("[data-testid=chat-input]").fill("Hi, is anyone there?");
  await page.locator("[data-testid=chat-input]").press("Enter");
  await page.locator('[data-testid=chat-message]:not([data-pending]) >> text="Hi, is anyone there?"').waitFor();
  return savedSession(page);
}

const insertReply = (conversationId, content) =>
  rest("messages", {
    method: "POST",
    body: { conversation_id: conversationId, site_id: DEMO_SITE_ID, sender_type: "operator", sender_user_id: DEMO_OWNER_ID, content },
  });

test("typing shows on both sides, replies arrive live without polling, presence drives the header", async () => {
  const page = await (await browser.newContext()).newPage();
  const history = [];
  page.on("request", (r) => r.url().includes("/v1/messages?") && history.push(Date.now()));
  const session = await startChat(page);
  const status = page.locator("[data-testid=chat-status]");

  const console_ = operator();
  const conversation = console_.channel(`conversation:${session.conversation_id}`, { config: { private: true } });
  const typing = [];
  conversation.on("broadcast", { event: "typing" }, ({ payload }) => typing.push(payload));
  const presence = console_.channel(`site:${DEMO_SITE_ID}`, { config: { private: true, presence: { key: DEMO_OWNER_ID } } });
  await subscribed(conversation);
  await subscribed(presence);

  // The operator comes online: the header follows their presence.
  assert.equal(await presence.track({ role: "operator", name: "Maya" }), "ok");
  await status.filter({ hasText: "We're online" }).waitFor({ timeout: 5_000 });
  assert.equal(await presence.untrack(), "ok");
  await status.filter({ hasText: "We're away" }).waitFor({ timeout: 5_000 });

  // The visitor types: one throttled "typing", then "stopped" when the message is sent.
  await page.locator("[data-testid=chat-input]").pressSequentially("Where is my order", { delay: 40 });
  await page.waitForTimeout(300);
  assert.deepEqual(typing.map((t) => [t.typing, t.sender]), [[true, "customer"]]);
  await page.locator("[data-testid=chat-input]").press("Enter");
  await page.waitForTimeout(300);
  assert.deepEqual(typing.at(-1), { typing: false, sender: "customer" });

  // The operator types: the widget shows it, and hides it when their reply arrives.
  const indicator = page.locator("[data-testid=chat-typing]");
  await conversation.send({ type: "broadcast", event: "typing", payload: { typing: true, sender: "operator", name: "Maya" } });
  await indicator.filter({ hasText: "Maya is typing…" }).waitFor({ timeout: 3_000 });
  const before = history.length;
  const sent = Date.now();
  await insertReply(session.conversation_id, "Your order ships today");
  await page.locator('[data-testid=chat-message][data-sender=operator] >> text="Your order ships today"').waitFor({ timeout: 3_000 });
  console.log(`operator reply shown live after ${Date.now() - sent} ms`);
  assert.equal(await indicator.isVisible(), false, "the reply clears the typing indicator");
  assert.equal(history.length, before, "the reply came over Realtime, not from polling");

  // Without news, "typing" disappears after 6 s.
  await conversation.send({ type: "broadcast", event: "typing", payload: { typing: true, sender: "operator", name: "Maya" } });
  await indicator.waitFor({ timeout: 3_000 });
  const shown = Date.now();
  await indicator.waitFor({ state: "hidden", timeout: 8_000 });
  const hiddenAfter = Date.now() - shown;
  assert.ok(hiddenAfter > 5_000, `hidden after ${hiddenAfter} ms`);
});

test("without a live connection the widget polls, and typing stays hidden when the settings say so", async () => {
  await setDemoSettings({ show_typing_indicator: false });
  const context = await browser.newContext();
  // Every Realtime socket is refused, as a network that blocks WebSockets would.
  await context.routeWebSocket(/\/realtime\/v1\/websocket/, (socket) => socket.close());
  const page = await context.newPage();
  const session = await startChat(page);
  await insertReply(session.conversation_id, "Found you by polling");
  await page.locator('[data-testid=chat-message][data-sender=operator] >> text="Found you by polling"').waitFor({ timeout: 4_000 });

  const open = await browser.newContext();
  const other = await open.newPage();
  const second = await startChat(other);
  const console_ = operator();
  const conversation = console_.channel(`conversation:${second.conversation_id}`, { config: { private: true } });
  const presence = console_.channel(`site:${DEMO_SITE_ID}`, { config: { private: true, presence: { key: DEMO_OWNER_ID } } });
  await subscribed(conversation);
  await subscribed(presence);
  await presence.track({ role: "operator" });
  // The header turning online proves the widget is live before the typing news is sent.
  await other.locator("[data-testid=chat-status]").filter({ hasText: "We're online" }).waitFor({ timeout: 5_000 });
  await conversation.send({ type: "broadcast", event: "typing", payload: { typing: true, sender: "operator", name: "Maya" } });
  await other.waitForTimeout(1_000);
  assert.equal(await other.locator("[data-testid=chat-typing]").isVisible(), false);
  await presence.untrack();
  await setDemoSettings({ show_typing_indicator: true });
});

test("killing and restarting the devstack mid-chat loses no message", async (t) => {
  const page = await (await browser.newContext()).newPage();
  const logs = [];
  page.on("console", (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on("requestfailed", (r) => logs.push(`failed: ${r.method()} ${r.url()}`));
  let passed = false;
  t.after(() => console.log(`browser log:\n${logs.filter((l) => passed ? l.includes("chat widget") : true).join("\n")}`));
  const session = await startChat(page);

  const back = await restartDevstack();
  // While the stand-in is down, the visitor writes; the message waits in the outbox.
  await page.locator("[data-testid=chat-input]").fill("Written while the backend restarts");
  await page.locator("[data-testid=chat-input]").press("Enter");
  // The keeper restarts it; wait for the API to answer again.
  await back();
  // A reply written right after the restart arrives (live after the rejoin, or by the backfill).
  await insertReply(session.conversation_id, `Back again ${randomUUID().slice(0, 4)}`);
  await page.locator("[data-testid=chat-message][data-sender=operator]").waitFor({ timeout: 30_000 });
  await page.locator('[data-testid=chat-message]:not([data-pending]) >> text="Written while the backend restarts"').waitFor({ timeout: 30_000 });
  const rows = await rest(`messages?conversation_id=eq.${session.conversation_id}&select=content,sender_type`);
  assert.equal(rows.filter((r) => r.content === "Written while the backend restarts").length, 1, "delivered exactly once");
  // Automatic answers may still arrive: wait until the page shows what is stored, then compare.
  const stored = async () => (await rest(`messages?conversation_id=eq.${session.conversation_id}&select=id`)).length;
  const deadline2 = Date.now() + 10_000;
  while ((await page.locator("[data-testid=chat-message]").count()) !== (await stored()) && Date.now() < deadline2) {
    await page.waitForTimeout(250);
  }
  assert.equal(await page.locator("[data-testid=chat-message]").count(), await stored(), "every stored message is shown once");
  passed = true;
});
