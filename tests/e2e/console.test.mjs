// Browser: the console, served by the edge Worker at /console/, signing in with Supabase Auth
// (the devstack's) and reading the inbox through PostgREST as the signed-in operator.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DEMO_OWNER_ID, DEMO_SITE_ID, api, artifacts, edge, launch, rest, savedSession, send, setDemoSettings, signIn, site, startChat, until } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
  await rest(`sites?id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: { allowed_origins: [site] } });
  await setDemoSettings({ require_name: true, require_email: true, auto_assignment: false });
});
after(async () => browser?.close());

const saved = (page) => page.evaluate(() => JSON.parse(localStorage.getItem("chat-console:auth") || "null"));

test("a wrong password is said plainly and signs nobody in", async () => {
  const page = await browser.newPage();
  await signIn(page, "operator@demo.test", "not-the-password");
  await page.getByText("The email or the password is wrong.").waitFor();
  assert.equal(await saved(page), null);
  await page.close();
});

test("the operator signs in, a visitor's new chat appears in the queue live, the session survives reloads and refreshes, and signs out", async () => {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  await signIn(page, "operator@demo.test");
  await page.locator("[data-testid=signed-in-as] >> text=operator@demo.test").waitFor();
  await page.getByRole("tab", { name: "Queue" }).click();
  await page.locator(".inbox[aria-busy=false]").waitFor();

  // No reload: the list hears of the new conversation on the site's topic.
  const visitor = await browser.newPage();
  await startChat(visitor, "Queued Quinn");
  const started = Date.now();
  await send(visitor, "Is anybody there?");
  const row = page.locator("[data-testid=conversation]", { hasText: "Queued Quinn" });
  await row.waitFor({ timeout: 10_000 });
  console.log(`# the new conversation showed in the queue ${Date.now() - started} ms after the visitor's chat started`);
  await page.locator("[data-testid=conversation]", { hasText: "Queued Quinn" }).locator(".thaw-badge").waitFor();
  assert.equal(await row.getAttribute("data-status"), "waiting");
  await page.screenshot({ path: `${artifacts}/console-inbox-desktop.png` });
  await page.setViewportSize({ width: 1280, height: 720 });
  await page.screenshot({ path: `${artifacts}/console-inbox-laptop.png` });

  // A reload keeps the session; an expired token is refreshed before the inbox loads.
  const first = await saved(page);
  await page.evaluate(() => {
    const auth = JSON.parse(localStorage.getItem("chat-console:auth"));
    localStorage.setItem("chat-console:auth", JSON.stringify({ ...auth, expires_at: Math.floor(Date.now() / 1000) - 5 }));
  });
  await page.reload();
  await page.locator("[data-testid=signed-in-as] >> text=operator@demo.test").waitFor();
  await page.waitForFunction((old) => JSON.parse(localStorage.getItem("chat-console:auth")).refresh_token !== old, first.refresh_token);
  const refreshed = await saved(page);
  assert.ok(refreshed.expires_at > Date.now() / 1000 + 60, "a fresh token");
  await page.getByRole("tab", { name: "Queue" }).click();
  await page.locator("[data-testid=conversation]", { hasText: "Queued Quinn" }).waitFor();

  // Signing out forgets the session here and ends it on the server.
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  assert.equal(await saved(page), null);
  const publishable = await (await fetch(`${edge}/v1/console/config`)).json();
  assert.equal(publishable.supabase_url, api.replace(/\/$/, ""));
  await assert.rejects(async () => {
    const response = await fetch(`${api}/auth/v1/token?grant_type=refresh_token`, {
      method: "POST",
      headers: { apikey: publishable.publishable_key, "content-type": "application/json" },
      body: JSON.stringify({ refresh_token: refreshed.refresh_token }),
    });
    assert.ok(response.ok, `refresh after sign-out: ${response.status}`);
  }, /refresh after sign-out: 4\d\d/);
  await context.close();
  await visitor.close();
});

test("after its connection drops, the inbox catches up with what happened meanwhile", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  // The console's Realtime socket runs through the test: it can be cut and kept down.
  let down = false;
  const open = [];
  await page.routeWebSocket(/\/realtime\/v1\/websocket/, (ws) => {
    if (down) return ws.close({ code: 1011, reason: "down for the test" });
    ws.connectToServer();
    open.push(ws);
  });
  await signIn(page, "operator@demo.test");
  await page.getByRole("tab", { name: "Queue" }).click();
  await page.locator(".inbox[aria-busy=false]").waitFor();
  await until(() => open.length >= 1, "the console opens its live connection");

  down = true;
  for (const ws of open.splice(0)) await ws.close({ code: 1006, reason: "network lost" });
  const visitor = await browser.newPage();
  await startChat(visitor, "Missed Milo");
  await send(visitor, "Written while the inbox was offline");
  await visitor.locator('[data-testid=chat-message]:not([data-pending]) >> text="Written while the inbox was offline"').waitFor();
  await page.waitForTimeout(1_500);
  const row = page.locator("[data-testid=conversation]", { hasText: "Missed Milo" });
  assert.equal(await row.count(), 0, "nothing reached the list while it was offline");

  down = false;
  await row.waitFor({ timeout: 20_000 });
  assert.ok(open.length >= 1, "the list caught up through a new connection");
  await visitor.close();
  await context.close();
});

test("the operator opens a conversation: messages in order, notes marked, new ones live, unread cleared, a reply delivered once, a note kept from the visitor", async () => {
  const visitor = await browser.newPage();
  await startChat(visitor, "Open Olive");
  await send(visitor, "First question");
  await visitor.locator('[data-testid=chat-message]:not([data-pending]) >> text="First question"').waitFor();
  const { conversation_id } = await savedSession(visitor);
  await rest("messages", {
    method: "POST",
    body: { conversation_id, site_id: DEMO_SITE_ID, sender_type: "operator", sender_user_id: DEMO_OWNER_ID, content: "Staff only: a VIP", internal: true },
  });

  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  await signIn(page, "operator@demo.test");
  await page.getByRole("tab", { name: "Queue" }).click();
  const row = page.locator("[data-testid=conversation]", { hasText: "Open Olive" });
  await row.locator(".thaw-badge").waitFor();
  await row.getByRole("button").click();
  const pane = page.locator("[data-testid=conversation-pane]");
  await pane.locator("[data-testid=message]", { hasText: "First question" }).waitFor();
  const note = pane.locator("[data-testid=message][data-internal=true]");
  assert.match(await note.textContent(), /Internal note.*Staff only: a VIP/);
  // Read once both are on screen (a refetch on news may be redrawing the list this instant).
  const texts = await (await page.waitForFunction(() => {
    const shown = [...document.querySelectorAll("[data-testid=conversation-pane] [data-testid=message] .text")].map((e) => e.textContent);
    return shown.includes("First question") && shown.includes("Staff only: a VIP") && shown;
  })).jsonValue();
  assert.ok(texts.indexOf("First question") < texts.indexOf("Staff only: a VIP"), `in order: ${texts}`);
  await row.locator(".thaw-badge").waitFor({ state: "detached" });

  await send(visitor, "Second question");
  await pane.locator("[data-testid=message]", { hasText: "Second question" }).waitFor({ timeout: 10_000 });

  // A reply whose answer is lost on the way: the message shows once (the page confirms it) and
  // is stored once. A reply the network refuses at first: retried with back-off until stored.
  const posts = [];
  let fault = "lose the answer";
  await page.route("**/rest/v1/rpc/post_staff_message", async (route) => {
    posts.push(fault);
    const now = fault;
    fault = null;
    if (now === "lose the answer") {
      await route.fetch();
      return route.abort("connectionreset");
    }
    if (now === "refuse") return route.abort("connectionrefused");
    return route.continue();
  });
  const composer = page.locator("[data-testid=composer]");
  const stored = async (text) =>
    (await rest(`messages?conversation_id=eq.${conversation_id}&content=eq.${encodeURIComponent(text)}&select=id`)).length;
  const shown = (text) => pane.locator("[data-testid=message]", { hasText: text });
  for (const [text, how] of [["Hi Olive, happy to help", "lose the answer"], ["Are you still there?", "refuse"]]) {
    fault = how;
    await composer.fill(text);
    await composer.press("Enter");
    await pane.locator("[data-testid=message]:not(.pending)", { hasText: text }).waitFor({ timeout: 20_000 });
    await pane.locator("[data-testid=pending-message]").first().waitFor({ state: "detached", timeout: 20_000 });
    assert.equal(await shown(text).count(), 1, `${text}: shown once`);
    assert.equal(await stored(text), 1, `${text}: stored once`);
  }
  assert.ok(posts.length >= 3, `the refused reply was retried: ${posts}`);
  await visitor.locator('[data-testid=chat-message][data-sender=operator] >> text="Hi Olive, happy to help"').waitFor({ timeout: 10_000 });

  // A note, written with the box ticked: for staff only.
  await page.getByLabel("Internal note").check();
  await composer.fill("Checked the order: shipped");
  await composer.press("Enter");
  await pane.locator("[data-testid=message][data-internal=true]", { hasText: "Checked the order: shipped" }).waitFor();
  await page.screenshot({ path: `${artifacts}/console-conversation-laptop.png` });
  await visitor.waitForTimeout(1_000);
  // The notes never reached the visitor's screen.
  assert.equal(await visitor.locator("text=Staff only: a VIP").count(), 0);
  assert.equal(await visitor.locator("text=Checked the order").count(), 0);
  await visitor.close();
  await context.close();
});
