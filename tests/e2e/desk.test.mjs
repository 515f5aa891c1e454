// Browser: the operator's desk end to end. Two operators and a viewer in their own browser
// contexts, a visitor on the demo page: queue, take, reply, typing both ways, presence, notes
// kept from the visitor (screen, REST, Realtime frames), transfer with a notification, close
// and rating, the visitor's reply reopening it, the devstack killed mid-session, drafts,
// canned responses and keyboard shortcuts.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import {
  DEMO_SITE_ID, api, artifacts, edge, launch, newStaff, rest, restartDevstack, savedSession, send, setDemoSettings, signIn, site,
  startChat, until,
} from "./support.mjs";

const OLIVIA = "00000000-0000-4000-8000-000000000002";
let browser;
// What the consoles said that went wrong, printed when a test fails.
const logs = [];
beforeEach(() => logs.splice(0));
afterEach((t) => {
  if (logs.length) t.diagnostic(logs.join("\n"));
});
before(async () => {
  browser = await launch();
  await rest(`sites?id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: { allowed_origins: [site] } });
  await setDemoSettings({ require_name: true, require_email: true, auto_assignment: false, show_typing_indicator: true });
});
after(async () => {
  // The demo's operator is offline again for the other tests (automatic answers, "We're away").
  await rest(`site_members?user_id=eq.${OLIVIA}`, { method: "PATCH", body: { availability: "offline" } });
  await browser?.close();
});

/** A console page signed in as `who` (the demo operator when omitted), notifications recorded. */
async function desk(who) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, permissions: ["notifications"] });
  // Records each desktop notification the page raises (the real one is still raised).
  await context.addInitScript(() => {
    const Real = window.Notification;
    window.shown = [];
    window.Notification = class extends Real {
      constructor(title, options) {
        super(title, options);
        window.shown.push(title);
      }
    };
    Object.defineProperty(window.Notification, "permission", { get: () => Real.permission });
    window.Notification.requestPermission = (...args) => Real.requestPermission(...args);
    // Counts the chime's tones (the real ones still play).
    window.tones = 0;
    const create = AudioContext.prototype.createOscillator;
    AudioContext.prototype.createOscillator = function () {
      window.tones += 1;
      return create.call(this);
    };
  });
  const page = await context.newPage();
  const name = who?.name ?? "Olivia";
  page.on("console", (m) => m.type() === "error" || m.type() === "warning" ? logs.push(`${name}: ${m.type()}: ${m.text()}`) : null);
  page.on("response", (r) => r.status() >= 400 ? logs.push(`${name}: HTTP ${r.status()} ${r.request().method()} ${r.url()}`) : null);
  await signIn(page, who?.email ?? "operator@demo.test", who?.password);
  await page.locator(".inbox[aria-busy=false]").waitFor();
  return page;
}

/** Pick `status` in the page of the member `id`; resolves once it is stored. */
async function setStatus(page, status, id = OLIVIA) {
  await page.getByLabel("Status").selectOption(status);
  await until(async () => (await rest(`site_members?user_id=eq.${id}&select=availability`))[0].availability === status, `${status} stored`);
}

function row(page, name) {
  return page.locator("[data-testid=conversation]", { hasText: name });
}

async function open(page, tab, name) {
  await page.getByRole("tab", { name: tab }).click();
  await row(page, name).getByRole("button").click();
  await page.locator("[data-testid=conversation-status]").waitFor();
}

const status = (page) => page.locator("[data-testid=conversation-status]");

test("queue, take, reply, typing, presence, notes, transfer, close, rating, reopen, viewer", async () => {
  const tom = await newStaff("operator", "Tom", "offline");
  const vera = await newStaff("viewer", "Vera", "offline");
  const olivia = await desk();
  await setStatus(olivia, "online");

  // The visitor sees an operator online (the console's presence), starts a chat.
  const visitor = await (await browser.newContext()).newPage();
  const frames = [];
  visitor.on("websocket", (ws) => ws.on("framereceived", (f) => frames.push(String(f.payload))));
  await startChat(visitor, "Desk Dana");
  await visitor.locator("[data-testid=chat-status]", { hasText: "We're online" }).waitFor({ timeout: 10_000 });
  await send(visitor, "Hello, is my parcel lost?");
  await olivia.getByRole("tab", { name: "Queue" }).click();
  await row(olivia, "Desk Dana").waitFor({ timeout: 10_000 });
  // The tab's title counts the conversations with unread messages.
  await olivia.waitForFunction(() => /^\(\d+\) Inbox/.test(document.title));
  await open(olivia, "Queue", "Desk Dana");
  assert.equal(await status(olivia).textContent(), "Waiting in the queue");
  await olivia.getByRole("button", { name: "Take" }).click();
  await status(olivia).filter({ hasText: "With Olivia" }).waitFor();

  // The customer pane: who, where from, here now.
  const pane = olivia.locator("[data-testid=customer-pane]");
  await pane.locator("[data-testid=customer-name]", { hasText: "Desk Dana" }).waitFor();
  await pane.getByText("Demo Shop").waitFor();
  await pane.locator("[data-testid=visitor-presence]", { hasText: "Online now" }).waitFor({ timeout: 10_000 });

  // Typing both ways.
  const composer = olivia.locator("[data-testid=composer]");
  await composer.pressSequentially("Let me", { delay: 30 });
  await visitor.locator("[data-testid=chat-typing]").waitFor({ state: "visible", timeout: 5_000 });
  await visitor.locator("[data-testid=chat-input]").pressSequentially("Thanks", { delay: 30 });
  await olivia.locator("[data-testid=visitor-typing]", { hasText: "The visitor is typing" }).waitFor({ timeout: 5_000 });

  // A reply reaches the visitor live; a note never does, by any path.
  await composer.fill("Let me check that for you");
  await composer.press("Enter");
  await visitor.locator('[data-testid=chat-message][data-sender=operator] >> text="Let me check that for you"').waitFor({ timeout: 10_000 });
  const secret = `Staff only ${randomUUID().slice(0, 6)}`;
  await olivia.getByRole("checkbox", { name: "Internal note" }).check();
  await composer.fill(secret);
  await composer.press("Enter");
  await olivia.locator("[data-testid=message][data-internal=true]", { hasText: secret }).waitFor();
  await olivia.getByRole("checkbox", { name: "Internal note" }).uncheck();
  await visitor.waitForTimeout(1_000);
  assert.equal(await visitor.getByText(secret).count(), 0, "not on the visitor's screen");
  const { guest_jwt, conversation_id } = await savedSession(visitor);
  const history = await (await fetch(`${edge}/v1/messages?limit=100`, { headers: { authorization: `Bearer ${guest_jwt}`, origin: site } })).text();
  assert.match(history, /Let me check that for you/);
  assert.doesNotMatch(history, new RegExp(secret), "not in the edge's history");
  const direct = await (await fetch(`${api}/rest/v1/messages?select=content`, {
    headers: { apikey: process.env.STACK_PUBLISHABLE_KEY, authorization: `Bearer ${guest_jwt}` },
  })).text();
  assert.doesNotMatch(direct, new RegExp(secret), "not through PostgREST as the guest");
  assert.ok(frames.some((f) => f.includes("Let me check that for you")), "the reply came live");
  assert.ok(!frames.some((f) => f.includes(secret)), "not in any Realtime frame the visitor received");

  // Transfer to Tom (a third context): it shows in his inbox with a notification.
  const tomPage = await desk(tom);
  await setStatus(tomPage, "online", tom.id);
  // A click: from now on the page may play sound (the browser's autoplay rule).
  await tomPage.getByRole("tab", { name: "Mine" }).click();
  await olivia.getByLabel("Note for a transfer or escalation").fill("Parcel 1042, over to you");
  await olivia.getByLabel("Transfer", { exact: true }).selectOption({ label: "Tom (online now)" });
  await status(olivia).filter({ hasText: "With Tom" }).waitFor({ timeout: 10_000 });
  await tomPage.locator("[data-testid=alert]", { hasText: "transferred to you: Parcel 1042, over to you" }).waitFor({ timeout: 10_000 });
  assert.ok((await tomPage.evaluate(() => window.shown)).includes("A conversation was transferred to you"), "a desktop notification");
  assert.ok((await tomPage.evaluate(() => window.tones)) > 0, "a chime");
  await tomPage.getByRole("tab", { name: "Mine" }).click();
  await row(tomPage, "Desk Dana").waitFor({ timeout: 10_000 });
  await tomPage.screenshot({ path: `${artifacts}/console-transfer.png` });

  // Tom closes: the visitor sees the close and can rate; Tom goes offline, and the visitor's
  // reply reopens the conversation into the queue, live in Olivia's inbox.
  await open(tomPage, "Mine", "Desk Dana");
  await tomPage.getByRole("button", { name: "Close" }).click();
  await status(tomPage).filter({ hasText: "Closed" }).waitFor();
  await visitor.locator("[data-testid=chat-message][data-sender=system] >> text=/conversation was closed/").waitFor({ timeout: 10_000 });
  await visitor.locator("[data-testid=chat-offer]", { hasText: "Rate this conversation" }).waitFor();
  await setStatus(tomPage, "offline", tom.id);
  await olivia.getByRole("tab", { name: "Queue" }).click();
  await send(visitor, "One more thing");
  await row(olivia, "Desk Dana").waitFor({ timeout: 10_000 });
  assert.equal(await row(olivia, "Desk Dana").getAttribute("data-status"), "waiting");

  // A viewer reads and cannot reply: no composer, no actions, and RLS refuses anyway.
  const veraPage = await desk(vera);
  await veraPage.getByRole("tab", { name: "All open" }).click();
  await open(veraPage, "All open", "Desk Dana");
  await veraPage.locator("[data-testid=message]", { hasText: "One more thing" }).waitFor();
  assert.equal(await veraPage.locator("[data-testid=composer]").count(), 0, "no composer for a viewer");
  assert.equal(await veraPage.getByRole("button", { name: "Take" }).count(), 0, "no actions for a viewer");
  assert.equal(await veraPage.getByLabel("Status").isVisible(), false, "a viewer has no status");
  const token = await veraPage.evaluate(() => JSON.parse(localStorage.getItem("chat-console:auth")).access_token);
  const refused = await fetch(`${api}/rest/v1/rpc/post_staff_message`, {
    method: "POST",
    headers: { apikey: process.env.STACK_PUBLISHABLE_KEY, authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ p_conversation_id: conversation_id, p_client_msg_id: randomUUID(), p_content: "From a viewer" }),
  });
  assert.equal(refused.status, 400);
  assert.match(await refused.text(), /conversation_not_found/);
  await setStatus(olivia, "offline");
  await visitor.locator("[data-testid=chat-status]", { hasText: "We're online" }).waitFor({ state: "detached", timeout: 10_000 });
  for (const page of [olivia, tomPage, veraPage, visitor]) await page.context().close();
});

test("the devstack killed mid-session: nothing missing or doubled on either side", async () => {
  const visitor = await (await browser.newContext()).newPage();
  await startChat(visitor, "Restart Rae");
  await send(visitor, "Before the restart");
  await visitor.locator('[data-testid=chat-message]:not([data-pending]) >> text="Before the restart"').waitFor();
  const olivia = await desk();
  await open(olivia, "Queue", "Restart Rae");
  const pane = olivia.locator("[data-testid=conversation-pane]");
  await pane.locator("[data-testid=message]", { hasText: "Before the restart" }).waitFor();

  const back = await restartDevstack();
  const composer = olivia.locator("[data-testid=composer]");
  await composer.fill("Answer written while the backend restarts");
  await composer.press("Enter");
  await send(visitor, "Question written while the backend restarts");
  await back();

  const texts = ["Before the restart", "Answer written while the backend restarts", "Question written while the backend restarts"];
  for (const text of texts) {
    await pane.locator("[data-testid=message]:not(.pending)", { hasText: text }).waitFor({ timeout: 45_000 });
    await visitor.locator(`[data-testid=chat-message]:not([data-pending]) >> text="${text}"`).waitFor({ timeout: 45_000 });
  }
  await pane.locator("[data-testid=pending-message]").first().waitFor({ state: "detached", timeout: 20_000 });
  const { conversation_id } = await savedSession(visitor);
  for (const text of texts) {
    const stored = await rest(`messages?conversation_id=eq.${conversation_id}&content=eq.${encodeURIComponent(text)}&select=id`);
    assert.equal(stored.length, 1, `${text}: stored once`);
    assert.equal(await pane.locator("[data-testid=message]", { hasText: text }).count(), 1, `${text}: once in the console`);
    assert.equal(await visitor.locator(`[data-testid=chat-message] >> text="${text}"`).count(), 1, `${text}: once for the visitor`);
  }
  await olivia.context().close();
  await visitor.context().close();
});

test("a draft survives a reload, /shortcut inserts a canned response, and the keyboard drives the inbox", async () => {
  const shortcut = `thanks${randomUUID().slice(0, 4)}`;
  await rest("canned_responses", { method: "POST", body: { site_id: DEMO_SITE_ID, shortcut, content: "Thanks for waiting, I'm on it." } });
  const visitors = [];
  for (const name of ["Keys Kim", "Keys Lee"]) {
    const visitor = await (await browser.newContext()).newPage();
    await startChat(visitor, name);
    await send(visitor, `Hello from ${name}`);
    await visitor.locator(`[data-testid=chat-message]:not([data-pending]) >> text="Hello from ${name}"`).waitFor();
    visitors.push(visitor);
  }
  const olivia = await desk();
  await open(olivia, "Queue", "Keys Kim");
  const composer = olivia.locator("[data-testid=composer]");
  await composer.fill("Half a thought, not sent");
  await olivia.reload();
  await olivia.getByRole("tab", { name: "Queue" }).click();
  await row(olivia, "Keys Kim").getByRole("button").click();
  await olivia.waitForFunction(() => document.querySelector("[data-testid=composer]")?.value === "Half a thought, not sent");

  await composer.fill(`/${shortcut.slice(0, 7)}`);
  const listed = olivia.locator("[data-testid=canned] [role=option]", { hasText: `/${shortcut}` });
  await listed.waitFor();
  await composer.press("Enter");
  assert.equal(await composer.inputValue(), "Thanks for waiting, I'm on it.");
  await composer.fill("");

  // Shortcuts act outside text fields only: Escape leaves the composer, ? lists them, j/k move.
  await composer.press("Escape");
  await olivia.keyboard.press("?");
  await olivia.locator("[data-testid=shortcuts]").waitFor();
  await olivia.getByRole("button", { name: "Close" }).last().click();
  await olivia.locator("[data-testid=shortcuts]").waitFor({ state: "hidden" });
  const current = () => olivia.locator(".conversation .open[aria-current=true]").textContent();
  const before = await current();
  await olivia.keyboard.press("j");
  await olivia.waitForFunction((b) => document.querySelector(".conversation .open[aria-current=true]")?.textContent !== b, before);
  await olivia.keyboard.press("k");
  await olivia.waitForFunction((b) => document.querySelector(".conversation .open[aria-current=true]")?.textContent === b, before);
  await olivia.keyboard.press("r");
  assert.equal(await olivia.evaluate(() => document.activeElement?.id), "reply");
  for (const page of [olivia, ...visitors]) await page.context().close();
});

test("every action of the header: assign, priority, tags, escalate, snooze, close, reopen", async () => {
  await rest(`site_members?user_id=eq.${OLIVIA}`, { method: "PATCH", body: { availability: "online" } });
  const visitor = await (await browser.newContext()).newPage();
  await startChat(visitor, "Action Ada");
  await send(visitor, "Several things to sort out");
  await visitor.locator('[data-testid=chat-message]:not([data-pending]) >> text="Several things to sort out"').waitFor();
  const { conversation_id } = await savedSession(visitor);
  const stored = async () => (await rest(`conversations?id=eq.${conversation_id}&select=status,priority,tags,escalation_level,assigned_operator_id`))[0];
  const owner = await desk({ email: "owner@demo.test", password: "demo-password" });
  await open(owner, "Queue", "Action Ada");

  await owner.getByLabel("Assign").selectOption(OLIVIA);
  await status(owner).filter({ hasText: "With Olivia" }).waitFor();
  assert.equal((await stored()).assigned_operator_id, OLIVIA);

  await owner.getByLabel("Priority").selectOption("urgent");
  await owner.waitForFunction(() => document.querySelector("#priority")?.value === "urgent");
  await until(async () => (await stored()).priority === "urgent", "priority stored");

  await owner.getByLabel("Add a tag").fill("VIP");
  await owner.getByLabel("Add a tag").press("Enter");
  await owner.locator("[data-testid=tags] .thaw-tag", { hasText: "vip" }).waitFor();
  assert.deepEqual((await stored()).tags, ["vip"]);
  await owner.getByRole("button", { name: "Remove the tag vip" }).click();
  await owner.locator("[data-testid=tags] .thaw-tag", { hasText: "vip" }).waitFor({ state: "detached" });
  assert.deepEqual((await stored()).tags, []);

  await owner.getByLabel("Note for a transfer or escalation").fill("Needs a specialist");
  await owner.getByLabel("Escalate", { exact: true }).selectOption("t2");
  await status(owner).filter({ hasText: "Waiting in the queue · T2" }).waitFor();
  assert.equal((await stored()).escalation_level, "t2");
  const [escalation] = await rest(`escalations?conversation_id=eq.${conversation_id}&select=reason,to_level`);
  assert.deepEqual(escalation, { reason: "Needs a specialist", to_level: "t2" });

  await owner.getByLabel("Snooze").selectOption("reply");
  await status(owner).filter({ hasText: "Snoozed until the visitor writes" }).waitFor();
  await owner.getByRole("tab", { name: "Snoozed" }).click();
  await row(owner, "Action Ada").waitFor();

  await owner.getByRole("button", { name: "Close" }).click();
  await status(owner).filter({ hasText: "Closed" }).waitFor();
  await owner.getByRole("button", { name: "Reopen" }).click();
  await status(owner).filter({ hasText: /Waiting in the queue|With / }).waitFor();
  assert.notEqual((await stored()).status, "closed");
  await owner.screenshot({ path: `${artifacts}/console-actions.png` });
  await rest(`site_members?user_id=eq.${OLIVIA}`, { method: "PATCH", body: { availability: "offline" } });
  await owner.context().close();
  await visitor.context().close();
});


test("a long conversation pages upward, the inbox pages by keyset, and search finds by name", async () => {
  // 130 messages in one conversation: the newest 100 show, then the rest on request.
  const visitor = await (await browser.newContext()).newPage();
  await startChat(visitor, "Long Lou");
  await send(visitor, "Message 1");
  await visitor.locator('[data-testid=chat-message]:not([data-pending]) >> text="Message 1"').waitFor();
  const { conversation_id } = await savedSession(visitor);
  const [{ customer_id }] = await rest(`conversations?id=eq.${conversation_id}&select=customer_id`);
  const rows = Array.from({ length: 129 }, (_, i) => ({
    conversation_id, site_id: DEMO_SITE_ID, sender_type: "customer", sender_customer_id: customer_id, content: `Message ${i + 2}`,
  }));
  await rest("messages", { method: "POST", body: rows });

  // 60 closed conversations of customers named alike: more than a page.
  const tag = randomUUID().slice(0, 6);
  const customers = await rest("customers", {
    method: "POST",
    body: Array.from({ length: 60 }, (_, i) => ({ site_id: DEMO_SITE_ID, name: `Pager ${tag} ${i}` })),
  });
  // And a newer one the search leaves out: until the search applies (typing pauses first), the
  // Closed tab's first page holds it, so 50 pagers there means the search's page.
  const [decoy] = await rest("customers", { method: "POST", body: { site_id: DEMO_SITE_ID, name: "Decoy" } });
  const now = Date.now();
  await rest("conversations", {
    method: "POST",
    body: [...customers, decoy].map((c, i) => ({
      site_id: DEMO_SITE_ID, customer_id: c.id, status: "closed", closed_at: new Date(now).toISOString(),
      last_message_at: new Date(c === decoy ? now + 60_000 : now - i * 60_000).toISOString(),
    })),
  });

  const olivia = await desk();
  await open(olivia, "Queue", "Long Lou");
  const pane = olivia.locator("[data-testid=conversation-pane]");
  await pane.locator("[data-testid=message]", { hasText: "Message 130" }).waitFor();
  assert.equal(await pane.locator("[data-testid=message]").count(), 100, "the newest 100");
  await pane.getByRole("button", { name: "Load earlier messages" }).click();
  await pane.locator("[data-testid=message] .text", { hasText: /^Message 1$/ }).waitFor();
  // The visitor's messages (an automatic "we are offline" answer sits among them).
  const texts = await pane.locator("[data-testid=message].customer .text").allTextContents();
  assert.deepEqual(texts, Array.from({ length: 130 }, (_, i) => `Message ${i + 1}`), "all, in order, once");
  assert.equal(await pane.getByRole("button", { name: "Load earlier messages" }).isVisible(), false);

  await olivia.getByLabel("Search conversations").fill(tag);
  await olivia.getByRole("tab", { name: "Closed" }).click();
  const found = olivia.locator("[data-testid=conversation]", { hasText: `Pager ${tag}` });
  // Until the search's first page replaced the queue's rows (the queue may hold 50 too, and
  // the Closed tab's 49 and the decoy).
  const pagers = (count) =>
    olivia.waitForFunction(
      ([tag, count]) => [...document.querySelectorAll("[data-testid=conversation]")].filter((row) => row.textContent.includes(`Pager ${tag}`)).length === count,
      [tag, count],
    );
  await pagers(50);
  assert.equal(await olivia.locator("[data-testid=conversation]").count(), 50, "one page, each a match");
  await olivia.getByRole("button", { name: "Load more" }).click();
  await pagers(60);
  assert.equal(await olivia.locator("[data-testid=conversation]").count(), 60);
  const names = await found.locator(".who").allTextContents();
  assert.deepEqual(names, Array.from({ length: 60 }, (_, i) => `Pager ${tag} ${i}`), "newest first, none twice, none skipped");
  // Nothing more to load (waited for: news may refetch the listing meanwhile).
  await olivia.getByRole("button", { name: "Load more" }).waitFor({ state: "hidden", timeout: 5_000 });
  await olivia.context().close();
  await visitor.context().close();
});

test("the devstack's database connections terminated: the inbox still hears of new chats", async () => {
  const olivia = await desk();
  await olivia.getByRole("tab", { name: "Queue" }).click();
  await olivia.locator(".inbox[aria-busy=false]").waitFor();
  const sql = "select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()";
  const terminated = execFileSync("psql", ["-X", "-At", "-c", sql, process.env.STACK_DATABASE_URL], { encoding: "utf8" });
  assert.ok(Number(terminated) > 0, `the devstack's connections were terminated: ${terminated}`);
  const visitor = await (await browser.newContext()).newPage();
  const name = `Terminated ${randomUUID().slice(0, 4)}`;
  await startChat(visitor, name);
  await send(visitor, "Written after the database dropped every connection");
  await row(olivia, name).waitFor({ timeout: 15_000 });
  await olivia.context().close();
  await visitor.context().close();
});
