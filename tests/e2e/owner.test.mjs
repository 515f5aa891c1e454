// Browser: the owner's sections of the console. The widget settings with the real widget as a
// live preview of unsaved settings, saved to the demo page; two admins saving over each other;
// an operator who sees no settings and whom RLS refuses; the site's name, origins, embed
// snippet, switch, and a new site; the team, links, knowledge; analytics of seeded data.
import { test, before, after, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { DEMO_OWNER_ID, DEMO_SITE_ID, api, artifacts, edge, launch, newStaff, rest, setDemoSettings, signIn, site, until } from "./support.mjs";

let browser;
const logs = [];
beforeEach(() => logs.splice(0));
afterEach((t) => {
  if (logs.length) t.diagnostic(logs.join("\n"));
});
const original = {};
const OLIVIA = "00000000-0000-4000-8000-000000000002";
before(async () => {
  browser = await launch();
  await rest(`sites?id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: { allowed_origins: [site] } });
  await setDemoSettings({ require_name: true, require_email: true, auto_assignment: false });
  Object.assign(original, (await rest(`widget_settings?site_id=eq.${DEMO_SITE_ID}&select=primary_color,welcome_message,title,enabled,color_scheme`))[0]);
});
after(async () => {
  await rest(`site_members?user_id=eq.${OLIVIA}`, { method: "PATCH", body: { availability: "offline" } });
  await setDemoSettings(original);
  await rest(`sites?id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: { name: "Demo Shop", allowed_origins: [site] } });
  await browser?.close();
});

/** A console page signed in as `email`, on `section` ("Widget", "Site"). */
async function console_(email, password, section) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, permissions: ["clipboard-read", "clipboard-write"] });
  const page = await context.newPage();
  page.on("console", (m) => (m.type() === "error" ? logs.push(`${email}: ${m.text()}`) : null));
  page.on("response", (r) => (r.status() >= 400 ? logs.push(`${email}: HTTP ${r.status()} ${r.request().method()} ${r.url()}`) : null));
  await signIn(page, email, password);
  await page.locator("[data-testid=signed-in-as]").waitFor();
  if (section) await page.locator("nav.sections").getByRole("button", { name: section, exact: true }).click();
  return page;
}

const settings = async () => (await rest(`widget_settings?site_id=eq.${DEMO_SITE_ID}`))[0];
const rgb = (hex) => `rgb(${[1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(", ")})`;
/** The widget's header background and greeting inside `root` (a page or the preview frame). */
async function drawn(root) {
  const header = root.locator("[data-testid=chat-header]");
  await header.waitFor();
  return {
    background: await header.evaluate((el) => getComputedStyle(el).backgroundColor),
    welcome: (await root.locator("[data-testid=chat-welcome]").textContent()).trim(),
  };
}

test("the preview follows the form before saving; a save reaches the demo page's widget", async () => {
  const page = await console_("owner@demo.test", "demo-password", "Widget");
  const preview = page.frameLocator("[data-testid=widget-preview]");
  const before = await drawn(preview);
  assert.equal(before.background, rgb(original.primary_color));

  await page.locator("#primary-color").fill("#0f766e");
  await page.getByLabel("Welcome message (someone can answer)").fill("Welcome to the test shop! Ask us anything.");
  await until(async () => (await drawn(preview)).background === rgb("#0f766e"), "the preview takes the new colour");
  await until(async () => (await drawn(preview)).welcome === "Welcome to the test shop! Ask us anything.", "the preview takes the welcome");
  assert.equal((await settings()).primary_color, original.primary_color, "nothing is saved yet");
  await page.getByText("Unsaved changes").waitFor();

  // The preview's own choices: dark, a phone, the team away (the offline message).
  await page.locator("#preview-appearance").selectOption("dark");
  await page.locator("#preview-frame").selectOption("phone");
  await page.locator("#preview-status").selectOption("away");
  await until(async () => (await preview.locator("[data-testid=chat-widget]").getAttribute("class"))?.includes("dark page"), "dark, full-page");
  await until(async () => (await drawn(preview)).welcome === (await settings()).offline_message, "the offline message");
  await page.locator("#preview-appearance").selectOption("as-set");
  await page.locator("#preview-frame").selectOption("desktop");
  await page.locator("#preview-status").selectOption("online");

  // A colour too pale for white text is warned about, and the preview starts no chat.
  await page.locator("#primary-color").fill("#fde047");
  await page.locator("[data-testid=contrast-warning]", { hasText: "WCAG AA" }).waitFor();
  await page.locator("#primary-color").fill("#0f766e");
  await until(async () => (await page.locator("[data-testid=contrast-warning]").textContent()) === "", "the warning goes");
  await until(async () => (await drawn(preview)).background === rgb("#0f766e"), "the preview has the colour again");
  await preview.locator('body[data-busy="0"]').waitFor();
  await preview.locator("[data-testid=chat-field-name]").fill("Preview Pat");
  await preview.locator("[data-testid=chat-field-email]").fill("pat@example.test");
  await preview.locator("[data-testid=chat-start]").click();
  await preview.getByText("This is a preview: it does not start chats.").waitFor();
  assert.equal((await rest(`customers?site_id=eq.${DEMO_SITE_ID}&name=eq.Preview%20Pat`)).length, 0);

  // An invalid title is refused before any request, with the field named.
  await page.getByLabel("Title").fill("");
  await page.getByText("Use 1 to 80 characters.").waitFor();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Fix the fields marked below first.").waitFor();
  await page.getByLabel("Title").fill(original.title);

  await page.locator("#color-scheme").selectOption("auto");
  await page.screenshot({ path: `${artifacts}/console-widget-settings.png`, fullPage: false });
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.locator("[data-testid=widget-saved]").waitFor();
  const stored = await settings();
  assert.equal(stored.primary_color, "#0f766e");
  assert.equal(stored.welcome_message, "Welcome to the test shop! Ask us anything.");
  assert.equal(stored.color_scheme, "auto");
  // The form shows what is stored after a reload (a select does not fall back to its first option).
  await page.reload();
  await until(async () => (await page.locator("#color-scheme").count()) === 1, "the form is back");
  assert.equal(await page.locator("#color-scheme").inputValue(), "auto");
  assert.equal(await page.locator("#primary-color").inputValue(), "#0f766e");
  await setDemoSettings({ color_scheme: "light" });

  // A visitor who loads the demo page now gets the new widget (the welcome while someone is online).
  await rest(`site_members?user_id=eq.${OLIVIA}`, { method: "PATCH", body: { availability: "online" } });
  const visitor = await browser.newPage();
  await visitor.goto(site);
  await visitor.locator("[data-testid=chat-launcher]").click();
  const shown = await drawn(visitor);
  assert.equal(shown.background, rgb("#0f766e"));
  assert.equal(shown.welcome, "Welcome to the test shop! Ask us anything.");
  await visitor.close();
  await rest(`site_members?user_id=eq.${OLIVIA}`, { method: "PATCH", body: { availability: "offline" } });
  await page.context().close();
});

test("two admins save over each other: the second is refused with the first's version to load", async () => {
  const admin = await newStaff("admin", "Ada");
  const first = await console_("owner@demo.test", "demo-password", "Widget");
  const second = await console_(admin.email, admin.password, "Widget");
  await first.getByLabel("Title").waitFor();
  await second.getByLabel("Title").waitFor();

  await first.getByLabel("Title").fill("Saved first");
  await first.getByRole("button", { name: "Save", exact: true }).click();
  await first.locator("[data-testid=widget-saved]").waitFor();

  await second.getByLabel("Title").fill("Saved second");
  await second.getByRole("button", { name: "Save", exact: true }).click();
  await second.locator("[data-testid=widget-problem]", { hasText: "Someone else saved these settings" }).waitFor();
  assert.equal((await settings()).title, "Saved first", "no silent overwrite");
  assert.equal(await second.getByLabel("Title").inputValue(), "Saved second", "the second admin's edit is still in the form");

  await second.getByRole("button", { name: "Load their version" }).click();
  assert.equal(await second.getByLabel("Title").inputValue(), "Saved first");
  await second.getByLabel("Title").fill("Saved second, on top");
  await second.getByRole("button", { name: "Save", exact: true }).click();
  await second.locator("[data-testid=widget-saved]").waitFor();
  assert.equal((await settings()).title, "Saved second, on top");
  await first.context().close();
  await second.context().close();
});

test("an operator sees no settings and row-level security refuses their change", async () => {
  const page = await console_("operator@demo.test", "demo-password");
  const nav = page.locator("nav.sections");
  await nav.getByRole("button", { name: "Inbox" }).waitFor();
  assert.deepEqual(await nav.getByRole("button").allTextContents(), ["Inbox"]);
  const { publishable_key } = await (await fetch(`${edge}/v1/console/config`)).json();
  const token = JSON.parse(await page.evaluate(() => localStorage.getItem("chat-console:auth"))).access_token;
  const response = await fetch(`${api}/rest/v1/widget_settings?site_id=eq.${DEMO_SITE_ID}`, {
    method: "PATCH",
    headers: { apikey: publishable_key, authorization: `Bearer ${token}`, "content-type": "application/json", prefer: "return=representation" },
    body: JSON.stringify({ primary_color: "#ff0000" }),
  });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), [], "no row may be changed");
  assert.notEqual((await settings()).primary_color, "#ff0000");
  await page.context().close();
});

test("the site: name, origins checked as browsers send them, the snippet copied, the widget switched off and on, a new site", async () => {
  const page = await console_("owner@demo.test", "demo-password", "Site");
  const snippet = await page.locator("[data-testid=embed-snippet]").textContent();
  assert.equal(snippet, `<script src="${edge.replace(/\/$/, "")}/embed.js" data-site="demo-site" async></script>`);
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByRole("button", { name: "Copied" }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), snippet);

  const origins = page.getByLabel("Allowed origins (one per line; none allows every page)");
  await origins.fill(`${site}\nhttps://shop.example/`);
  await page.locator("[data-testid=origins-problem]", { hasText: "\"https://shop.example/\" is not an origin" }).waitFor();
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Fix the fields marked below first.").waitFor();
  await origins.fill(`${site}\nhttps://shop.example`);
  await page.getByLabel("Name", { exact: true }).fill("Demo Shop (renamed)");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText("Saved.").waitFor();
  const [row] = await rest(`sites?id=eq.${DEMO_SITE_ID}`);
  assert.deepEqual(row.allowed_origins, [site, "https://shop.example"]);
  assert.equal(row.name, "Demo Shop (renamed)");
  assert.equal(await page.locator("#site-picker option:checked").textContent(), "Demo Shop (renamed)");

  // Off: the demo page shows no launcher; on again: it does.
  const toggle = page.getByRole("switch", { name: "Show the chat widget on the site's pages" });
  await toggle.click();
  await until(async () => (await settings()).enabled === false, "the widget is off");
  const visitor = await browser.newPage();
  await visitor.goto(site);
  await visitor.waitForLoadState("networkidle");
  assert.equal(await visitor.locator("[data-testid=chat-launcher], [data-testid=chat-launcher-stub]").count(), 0);
  await toggle.click();
  await until(async () => (await settings()).enabled === true, "the widget is on again");
  await visitor.close();

  await page.getByLabel("Name of the new site").fill("Zebra shop");
  await page.getByRole("button", { name: "Create site" }).click();
  await until(async () => (await page.locator("#site-picker option:checked").textContent()) === "Zebra shop", "the new site is shown");
  const [created] = await rest("sites?name=eq.Zebra%20shop&select=id,site_key,owner_id");
  const [membership] = await rest(`site_members?site_id=eq.${created.id}&select=role`);
  assert.equal(membership.role, "owner");
  await page.locator("[data-testid=embed-snippet]", { hasText: `data-site="${created.site_key}"` }).waitFor();
  await page.context().close();
});

test("an invitation is accepted by a new sign-up; role, capacity and removal; the last owner stays", async () => {
  const page = await console_("owner@demo.test", "demo-password", "Team");
  const email = `nina-${Date.now()}@example.test`;
  const invite = page.locator("[data-testid=invite]");
  await invite.getByLabel("Email address").fill(email);
  await invite.getByLabel("Name (optional)").fill("Nina");
  await invite.getByLabel("Chats at once").fill("3");
  await invite.getByRole("button", { name: "Send invitation" }).click();
  await page.locator("[data-testid=invitations]", { hasText: email }).waitFor();
  await invite.getByLabel("Email address").fill(email);
  await invite.getByRole("button", { name: "Send invitation" }).click();
  await invite.getByText(`${email} works here or is invited already.`).waitFor();

  // Nina creates her account in the console and lands in the demo site's inbox.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const nina = await context.newPage();
  await nina.goto(`${edge}/console/`);
  await nina.getByRole("button", { name: "New here? Create an account" }).click();
  await nina.getByLabel("Email").fill(email);
  await nina.getByLabel("Password").fill("nina-password");
  await nina.getByRole("button", { name: "Create account" }).click();
  await nina.locator("[data-testid=signed-in-as]", { hasText: email }).waitFor();
  const [demo] = await rest(`sites?id=eq.${DEMO_SITE_ID}&select=name`);
  await until(async () => (await nina.locator("#site-picker option:checked").textContent()) === demo.name, "Nina works on the demo site");
  assert.deepEqual(await nina.locator("nav.sections").getByRole("button").allTextContents(), ["Inbox"]);
  const [member] = await rest(`site_members?site_id=eq.${DEMO_SITE_ID}&display_name=eq.Nina&select=user_id,role,max_concurrent_chats`);
  assert.equal(member.role, "operator");
  assert.equal(member.max_concurrent_chats, 3);
  await context.close();

  // The owner sees her in the team, changes her, and removes her.
  await page.reload();
  const row = page.locator(`[data-testid=member][data-email="${email}"]`);
  await row.waitFor();
  await page.locator("[data-testid=invitations]", { hasText: email }).waitFor({ state: "detached" });
  await row.getByLabel(`Role of ${email}`).selectOption("viewer");
  await until(async () => (await rest(`site_members?user_id=eq.${member.user_id}&select=role`))[0].role === "viewer", "a viewer now");
  await row.getByLabel(`Chats at once for ${email}`).fill("7");
  await row.getByLabel(`Chats at once for ${email}`).press("Tab");
  await until(async () => (await rest(`site_members?user_id=eq.${member.user_id}&select=max_concurrent_chats`))[0].max_concurrent_chats === 7, "seven chats");

  const me = page.locator('[data-testid=member][data-email="owner@demo.test"]');
  await me.getByLabel("Role of owner@demo.test").selectOption("admin");
  await page.locator("[data-testid=team-problem]", { hasText: "A site keeps at least one owner" }).waitFor();
  assert.equal((await rest(`site_members?site_id=eq.${DEMO_SITE_ID}&role=eq.owner`)).length, 1);

  await row.getByRole("button", { name: `Remove ${email}` }).click();
  await row.getByRole("button", { name: "Confirm removal" }).click();
  await row.waitFor({ state: "detached" });
  assert.equal((await rest(`site_members?user_id=eq.${member.user_id}`)).length, 0);
  await page.screenshot({ path: `${artifacts}/console-team.png` });
  await page.context().close();
});

test("a link is created with its limits, opened by a visitor who chats, and its usage and numbers update", async () => {
  const page = await console_("owner@demo.test", "demo-password", "Links");
  const form = page.locator("[data-testid=new-link]");
  await form.getByLabel("Title").fill("Spring sale helper");
  await form.getByLabel("Chats it may open").fill("0");
  await form.getByRole("button", { name: "Create link" }).click();
  await page.getByText("Chats it may open: Must be between 1 and 50.").waitFor();
  await form.getByLabel("Chats it may open").fill("2");
  await form.getByLabel("Expires after (hours)").fill("48");
  await form.getByRole("button", { name: "Create link" }).click();
  const url = (await page.locator("[data-testid=link-url]").textContent()).trim();
  assert.match(url, new RegExp(`^${edge.replace(/\/$/, "")}/c/[0-9a-z]+#.{20,}$`));
  await page.locator("[data-testid=created-link]").getByRole("button", { name: "Copy" }).click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
  const code = url.split("/c/")[1].split("#")[0];
  const row = page.locator(`[data-testid=link][data-code="${code}"]`);
  assert.equal(await row.locator("[data-testid=link-state]").textContent(), "Active");
  assert.match(await row.locator("[data-testid=link-usage]").textContent(), /^0 of 2 chats · 0 messages/);
  const [stored] = await rest(`chat_links?short_code=eq.${code}&select=max_sessions,expires_at,created_at`);
  assert.equal(stored.max_sessions, 2);
  assert.equal(Math.round((Date.parse(stored.expires_at) - Date.parse(stored.created_at)) / 3_600_000), 48);

  const visitor = await browser.newPage();
  await visitor.goto(url);
  await visitor.locator("[data-testid=chat-input]").fill("Hello from the link");
  await visitor.locator("[data-testid=chat-input]").press("Enter");
  await visitor.locator("[data-testid=chat-message]", { hasText: "Hello from the link" }).first().waitFor();
  await until(async () => (await rest(`chat_links?short_code=eq.${code}&select=message_count`))[0].message_count >= 1, "the message is counted");
  await visitor.close();

  await page.reload();
  await row.waitFor();
  assert.match(await row.locator("[data-testid=link-usage]").textContent(), /^1 of 2 chats · [1-9]\d* messages/);
  await row.getByRole("button", { name: "Numbers" }).click();
  assert.equal(await row.locator("[data-testid=link-sessions]").textContent(), "1");
  // The guest's message, and an automatic answer when one was given.
  assert.ok(Number(await row.locator("[data-testid=link-messages]").textContent()) >= 1);

  await row.getByRole("button", { name: "Extend by 24 hours" }).click();
  await until(async () => {
    const [now] = await rest(`chat_links?short_code=eq.${code}&select=expires_at`);
    return Date.parse(now.expires_at) - Date.parse(stored.expires_at) === 24 * 3_600_000;
  }, "a day later");
  await row.getByRole("button", { name: "Switch off" }).click();
  await until(async () => (await row.locator("[data-testid=link-state]").textContent()) === "Off", "shown off");
  assert.equal((await rest(`chat_links?short_code=eq.${code}&select=is_active`))[0].is_active, false);
  await page.screenshot({ path: `${artifacts}/console-links.png` });
  await page.context().close();
});

test("agents and knowledge: an article written, tried as a visitor's question, an agent added", async () => {
  const page = await console_("owner@demo.test", "demo-password", "Knowledge");
  // Nobody online: a question no article answers gets the away message.
  const tryBox = page.locator("[data-testid=try-question]");
  const question = tryBox.getByLabel("Try a question a visitor might ask");
  await question.fill("Can you gift wrap my present?");
  await tryBox.getByRole("button", { name: "Show the answer" }).click();
  await page.locator("[data-testid=tried-answer]", { hasText: "the away message" }).waitFor();

  await page.getByRole("button", { name: "Add an article" }).click();
  const editor = page.locator("[data-testid=article-editor]");
  await editor.getByLabel("Title").fill("Gift wrapping");
  await editor.getByLabel("Answer", { exact: true }).fill("We gift wrap any present for free: tick the box at checkout.");
  await editor.getByRole("button", { name: "Save the article" }).click();
  await page.locator("[data-testid=articles]", { hasText: "Gift wrapping" }).waitFor();
  await tryBox.getByRole("button", { name: "Show the answer" }).click();
  await page.locator("[data-testid=tried-answer]", { hasText: "Answered from “Gift wrapping”" }).waitFor();

  // What the console showed is what a visitor gets.
  const visitor = await browser.newPage();
  await visitor.goto(site);
  await visitor.locator("[data-testid=chat-launcher]").click();
  await visitor.locator("[data-testid=chat-field-name]").fill("Greta");
  await visitor.locator("[data-testid=chat-field-email]").fill(`greta-${Date.now()}@example.test`);
  await visitor.locator("[data-testid=chat-start]").click();
  await visitor.locator("[data-testid=chat-input]").fill("Can you gift wrap my present?");
  await visitor.locator("[data-testid=chat-input]").press("Enter");
  await visitor.locator("[data-testid=chat-message]", { hasText: "We gift wrap any present for free" }).waitFor();
  await visitor.close();

  await page.getByRole("button", { name: "Add an agent" }).click();
  const agent = page.locator("[data-testid=agent-editor]");
  await agent.getByLabel("Name", { exact: true }).fill("");
  await agent.getByRole("button", { name: "Save the agent" }).click();
  await agent.getByText("name: Use 1 to 80 characters.").waitFor();
  await agent.getByLabel("Name", { exact: true }).fill("Nora the night agent");
  await agent.getByLabel("Persona").fill("Calm and precise.");
  await agent.getByLabel("System prompt").fill("Answer from the knowledge articles; hand over to a person when unsure.");
  await agent.getByRole("button", { name: "Save the agent" }).click();
  await page.locator("[data-testid=agents]", { hasText: "Nora the night agent" }).waitFor();
  const [stored] = await rest(`agents?site_id=eq.${DEMO_SITE_ID}&name=eq.Nora%20the%20night%20agent&select=persona,system_prompt,model,is_active`);
  assert.deepEqual(stored, { persona: "Calm and precise.", system_prompt: "Answer from the knowledge articles; hand over to a person when unsure.", model: "gpt-4o-mini", is_active: true });
  await page.screenshot({ path: `${artifacts}/console-knowledge.png` });
  await page.context().close();
  // The other tests' visitors get the demo's own answers.
  await rest(`knowledge_articles?site_id=eq.${DEMO_SITE_ID}&title=eq.Gift%20wrapping`, { method: "DELETE" });
  await rest(`agents?site_id=eq.${DEMO_SITE_ID}&name=eq.Nora%20the%20night%20agent`, { method: "DELETE" });
});

test("analytics render with seeded data: totals, charts, the operators' table, a range, CSV", async () => {
  // A site of the demo owner's with four conversations in the last three days (UTC, the
  // site's and the browser's time zone here), answered by Olivia, a knowledge answer and
  // an away message.
  const siteId = randomUUID();
  await rest("sites", { method: "POST", body: { id: siteId, owner_id: DEMO_OWNER_ID, name: "Analytics shop", site_key: `analytics-${siteId.slice(0, 8)}` } });
  await rest("site_members", { method: "POST", body: { site_id: siteId, user_id: OLIVIA, role: "operator", display_name: "Olivia" } });
  const [customer] = await rest("customers", { method: "POST", body: { site_id: siteId, name: "Cleo" } });
  const day = (ago, hour) => {
    const at = new Date();
    at.setUTCDate(at.getUTCDate() - ago);
    at.setUTCHours(hour, 0, 0, 0);
    return at;
  };
  const iso = (date) => date.toISOString().slice(0, 10);
  const later = (at, seconds) => new Date(at.getTime() + seconds * 1000).toISOString();
  async function conversation(source, at, messages, csat) {
    const [row] = await rest("conversations", {
      method: "POST",
      body: { site_id: siteId, customer_id: customer.id, source, status: "active", assigned_operator_id: OLIVIA, created_at: at.toISOString(), last_message_at: at.toISOString() },
    });
    for (const [sender, seconds, kind] of messages) {
      await rest("messages", {
        method: "POST",
        body: {
          conversation_id: row.id, site_id: siteId, sender_type: sender, content: "Hello", created_at: later(at, seconds),
          sender_user_id: sender === "operator" ? OLIVIA : null, sender_customer_id: sender === "customer" ? customer.id : null,
          metadata: kind ? { kind } : {},
        },
      });
    }
    if (csat) await rest(`conversations?id=eq.${row.id}`, { method: "PATCH", body: { csat } });
  }
  await conversation("widget", day(3, 10), [["customer", 0], ["ai", 1, "knowledge_answer"], ["operator", 90]], 5);
  await conversation("link", day(2, 14), [["customer", 0], ["operator", 300]], 4);
  await conversation("widget", day(2, 15), [["customer", 0], ["ai", 1, "away_message"]]);
  await conversation("sms", day(1, 9), [["customer", 0], ["operator", 30]], 3);

  const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: "UTC", acceptDownloads: true });
  const page = await context.newPage();
  page.on("console", (m) => (m.type() === "error" ? logs.push(`owner: ${m.text()}`) : null));
  await signIn(page, "owner@demo.test");
  await page.locator("[data-testid=signed-in-as]").waitFor();
  await page.locator("#site-picker").selectOption({ label: "Analytics shop" });
  await page.locator("nav.sections").getByRole("button", { name: "Analytics", exact: true }).click();

  const totals = page.locator("[data-testid=totals]");
  const total = async (label) => (await totals.locator(".figure", { has: page.locator("dt", { hasText: new RegExp(`^${label}$`) }) }).locator("dd").textContent()).trim();
  await totals.waitFor();
  assert.equal(await total("Conversations"), "4");
  // First human replies after 90 s, 300 s and 30 s: median 90 s; p90 = 90 + 0.8 × 210 = 258 s.
  assert.equal(await total("Answered by a person"), "3");
  assert.equal(await total("Median first response"), "1m 30s");
  assert.equal(await total("90th percentile first response"), "4m 18s");
  assert.equal(await total("Average rating"), "4.0 of 5 (3 rated)");
  assert.equal(await total("Automatic answers"), "2");
  assert.equal(await total("AI answers"), "0");
  assert.equal(await total("Human answers"), "3");
  assert.equal(await total("Handoffs to a human"), "1");
  assert.match(await page.locator("[data-testid=report-range]").textContent(), /days and hours in UTC/);

  // Every chart is an SVG drawn in the page, with the series it should have.
  for (const id of ["conversations", "response-times", "satisfaction", "answers", "busiest-hours"]) {
    const svg = page.locator(`[data-testid=chart-${id}] svg`);
    await svg.waitFor();
    assert.ok((await svg.locator("rect, polyline, path").count()) > 5, `${id} has marks`);
  }
  const conversationsChart = page.locator("[data-testid=chart-conversations] svg");
  for (const legend of ["Widget", "Temporary links", "SMS"]) await conversationsChart.getByText(legend, { exact: true }).waitFor();
  assert.equal(await conversationsChart.getByText("Email", { exact: true }).count(), 0, "no email conversations, no legend entry");
  assert.equal(await page.locator("[data-testid=chart-conversations] svg rect[fill='#4F46E5']").count(), 3, "two days of widget bars and the legend swatch");
  const weekday = (ago) => ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][day(ago, 0).getUTCDay()];
  assert.equal(await page.locator("[data-testid=chart-busiest-hours] svg text", { hasText: /^\s*1\s*$/ }).count(), 4, "four hours with one conversation each");
  await page.locator("[data-testid=chart-busiest-hours] svg").getByText(weekday(1), { exact: true }).waitFor();
  await page.locator("[data-testid=chart-satisfaction] figcaption", { hasText: "4.0 of 5 from 3 ratings" }).waitFor();

  const operators = page.locator("[data-testid=operators]");
  const olivia = operators.getByRole("row", { name: /Olivia/ });
  assert.deepEqual(
    (await olivia.getByRole("cell").allTextContents()).map((t) => t.trim()),
    ["Olivia", "3", "0", "2m 45s", "0", "4.0 (3 rated)"],
    "three replies; responses to a waiting customer after 300 s and 30 s (the first came after the knowledge answer)",
  );
  // The section scrolls inside the page: a window tall enough shows all of it.
  await page.setViewportSize({ width: 1440, height: 2400 });
  await page.screenshot({ path: `${artifacts}/console-analytics.png` });
  await page.setViewportSize({ width: 1440, height: 900 });

  // The daily CSV holds every day of the range, zeros included.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download daily CSV" }).click()]);
  const csv = readFileSync(await download.path(), "utf8").split("\r\n");
  assert.match(download.suggestedFilename(), /^daily-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
  assert.equal(csv.length, 30 + 2, "a header, 30 days and the final line break");
  assert.ok(csv.includes(`${iso(day(2, 0))},1,1,0,0,0,300,300,1,0,1,0`), csv.join("\n"));
  assert.ok(csv.includes(`${iso(day(4, 0))},0,0,0,0,0,,,0,0,0,0`));

  // A range of one day, then a reversed one, which is refused in the page.
  await page.getByLabel("From", { exact: true }).fill(iso(day(1, 0)));
  await page.getByLabel("To", { exact: true }).fill(iso(day(1, 0)));
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await until(async () => (await total("Conversations")) === "1", "one conversation yesterday");
  assert.equal(await total("Median first response"), "30s");
  await page.getByLabel("From", { exact: true }).fill(iso(day(0, 0)));
  await page.getByLabel("To", { exact: true }).fill(iso(day(2, 0)));
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await page.getByRole("alert").filter({ hasText: "The last day must be on or after the first day." }).waitFor();
  await page.getByRole("button", { name: "Last 7 days" }).click();
  await until(async () => (await total("Conversations")) === "4", "back to the seeded week");
  await context.close();
  await rest(`sites?id=eq.${siteId}`, { method: "DELETE" });
});
