// Browser: a temporary link opened on a phone, chatting with the agent's answers,
// then refused once its owner switches it off. Run by `cargo xtask test`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { sign } from "../shared/jwt.mjs";
import { DEMO_OWNER_ID, DEMO_SITE_ID, artifacts, edge, launch, rest } from "./support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

const owner = sign({ sub: DEMO_OWNER_ID, role: "authenticated", aud: "authenticated" });

async function ownerCall(method, path, body) {
  const response = await fetch(`${edge}${path}`, {
    method,
    headers: { authorization: `Bearer ${owner}`, "content-type": "application/json" },
    body: body && JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

test("a guest opens a link on a phone, chats, reloads, and is refused after it is switched off", async () => {
  const [agent] = await rest(`agents?site_id=eq.${DEMO_SITE_ID}&select=id&limit=1`);
  const link = await ownerCall("POST", "/v1/links", {
    agent_id: agent.id,
    title: "Questions about your order",
    description: "Our team answers here for the next 24 hours.",
    welcome_message: "Hello! Ask us anything about your order.",
    expires_in_hours: 24,
    max_sessions: 2,
  });

  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await page.goto(link.url);
  await page.locator("[data-testid=chat-panel]").waitFor();
  assert.equal(await page.locator("[data-testid=link-title]").textContent(), "Questions about your order");
  assert.equal(await page.locator("[data-testid=link-description]").textContent(), "Our team answers here for the next 24 hours.");
  assert.equal(new URL(page.url()).hash, "", "the token leaves the address bar");
  assert.equal(await page.locator("[data-testid=chat-launcher]").isVisible(), false, "no launcher on the link page");
  assert.match(await page.locator("[data-testid=chat-panel]").textContent(), /Hello! Ask us anything about your order\./);
  const box = await page.locator("[data-testid=chat-panel]").boundingBox();
  assert.ok(box.width >= 350 && box.width <= 360, `the chat uses the phone's width (${box.width})`);

  await page.locator("[data-testid=chat-input]").fill("What are your opening hours?");
  await page.locator("[data-testid=chat-input]").press("Enter");
  // The link's agent answers (the model stand-in quotes the best article), its draft first.
  await page.locator("[data-testid=chat-message][data-sender=ai]", { hasText: "Monday to Friday" }).waitFor({ timeout: 10_000 });
  assert.equal(await page.locator("[data-testid=chat-message][data-sender=ai]").count(), 1);
  await page.screenshot({ path: `${artifacts}/link-phone.png` });

  await page.reload();
  await page.locator('[data-testid=chat-message] >> text="What are your opening hours?"').waitFor();
  const [stored] = await rest(`chat_links?id=eq.${link.id}&select=session_count`);
  assert.equal(stored.session_count, 1, "a reload continues the chat instead of opening another");

  await ownerCall("PATCH", `/v1/links/${link.id}`, { is_active: false });
  const other = await (await browser.newContext({ viewport: { width: 360, height: 740 } })).newPage();
  await other.goto(link.url);
  const notice = other.locator("[data-testid=link-notice]");
  await notice.waitFor();
  assert.equal(await notice.getAttribute("data-code"), "link_inactive");
  assert.match(await notice.textContent(), /This link is no longer active/);
  await other.screenshot({ path: `${artifacts}/link-switched-off.png` });
});

test("on a phone, a long agent name stays clear of End chat, and no direction override is shown", async () => {
  const name = "BartholomewMaximilianFeatherstonehaughWorthingtonTheThird";
  const [agent] = await rest("agents", { method: "POST", body: { site_id: DEMO_SITE_ID, name } });
  const link = await ownerCall("POST", "/v1/links", {
    agent_id: agent.id,
    title: "Your invoice",
    welcome_message: "Hello!",
    expires_in_hours: 1,
  });
  const phone = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const page = await phone.newPage();
  await page.goto(link.url);
  await page.locator("[data-testid=chat-end]").waitFor();
  // Where the name's text is seen to end: its own extent, unless its box clips it.
  const shown = await page.locator("[data-testid=chat-agent]").evaluate((el) => {
    const range = document.createRange();
    range.selectNodeContents(el);
    const text = range.getBoundingClientRect().right;
    return getComputedStyle(el).overflowX === "visible" ? text : Math.min(text, el.getBoundingClientRect().right);
  });
  const end = await page.locator("[data-testid=chat-end]").boundingBox();
  assert.ok(shown <= end.x, `the agent's name (seen up to ${shown}) ends before End chat (${end.x})`);

  const [session] = await rest(`chat_sessions?link_id=eq.${link.id}&select=conversation_id`);
  const spoof = "Your invoice: https://exa\u202emple.com/\u2067fdp.exe\u2069 and \u202egnp.txt";
  await rest("messages", {
    method: "POST",
    body: { site_id: DEMO_SITE_ID, conversation_id: session.conversation_id, sender_type: "operator", sender_user_id: DEMO_OWNER_ID, content: spoof },
  });
  const bubble = page.locator("[data-testid=chat-message][data-sender=operator]");
  await bubble.waitFor({ timeout: 10_000 });
  const text = await bubble.locator(".text").textContent();
  assert.equal(text, "Your invoice: https://example.com/fdp.exe and gnp.txt", "overrides and isolates are dropped");
  assert.equal(await bubble.locator("a").getAttribute("href"), "https://example.com/fdp.exe", "the link goes where it reads");
  await page.screenshot({ path: `${artifacts}/link-phone-long-agent.png` });
  await phone.close();
});
