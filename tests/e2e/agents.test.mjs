// Browser: an AI agent answers on a temporary link's page with the language model (the
// stand-in, tests/stand-ins/model.mjs, streams its answer): the answer forms in its bubble in
// the widget and in the operator's console as it arrives, is stored once, and the visitor asks
// for a person with the widget's button; a failing provider hands off with a message and leaves
// no draft behind; the owner turns agents on for the widget with a provider of the site's own
// and reads the use. Run by `cargo xtask test`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { sign } from "../shared/jwt.mjs";
import { DEMO_OWNER_ID, DEMO_SITE_ID, artifacts, edge, launch, rest, send, setDemoSettings, signIn, site, startChat, until } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
  // The test stack serves the demo page on its own port: allow that origin.
  await rest(`sites?id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: { allowed_origins: [site] } });
  await setDemoSettings({ require_name: true, require_email: true });
});
after(async () => browser?.close());

const owner = sign({ sub: DEMO_OWNER_ID, role: "authenticated", aud: "authenticated" });

/** A link to the demo site's first agent, opened in a new page; resolves with the page. */
async function openLink() {
  const [agent] = await rest(`agents?site_id=eq.${DEMO_SITE_ID}&select=id&limit=1`);
  const response = await fetch(`${edge}/v1/links`, {
    method: "POST",
    headers: { authorization: `Bearer ${owner}`, "content-type": "application/json" },
    body: JSON.stringify({ agent_id: agent.id, title: "Ask our assistant", expires_in_hours: 1, max_sessions: 5 }),
  });
  assert.equal(response.status, 201);
  const link = await response.json();
  const page = await (await browser.newContext()).newPage();
  await page.goto(link.url);
  await page.locator("[data-testid=chat-input]").waitFor();
  return page;
}

const answers = (page) => page.locator("[data-testid=chat-message][data-sender=ai]");

test("the agent's answer forms in the widget and the console, then the visitor asks for a person", async () => {
  const visitor = await openLink();
  const marker = randomUUID().slice(0, 8);
  await send(visitor, `Hello, I need some help ${marker}`);
  await answers(visitor).first().waitFor({ timeout: 10_000 });

  // Name the visitor, to find the conversation in the console's "AI" tab.
  const [message] = await rest(`messages?content=like.*${marker}*&select=conversation_id`);
  const [conversation] = await rest(`conversations?id=eq.${message.conversation_id}&select=customer_id,status`);
  assert.equal(conversation.status, "bot");
  await rest(`customers?id=eq.${conversation.customer_id}`, { method: "PATCH", body: { name: `Quinn ${marker}` } });
  const console = await (await browser.newContext()).newPage();
  await signIn(console, "owner@demo.test");
  await console.locator(".inbox[aria-busy=false]").waitFor();
  await console.getByRole("tab", { name: "AI", exact: true }).click();
  await console.locator("[data-testid=conversation]", { hasText: `Quinn ${marker}` }).getByRole("button").click();
  await console.locator("[data-testid=conversation-status]", { hasText: "The AI agent is answering" }).waitFor();

  // The next answer streams: both sides see it form before it is stored.
  await send(visitor, "How do I track my order? [pieces]");
  const bubble = () => answers(visitor).nth(1).locator(".text");
  const inWidget = [];
  const inConsole = new Set();
  await until(async () => {
    const [text, consoleLine] = await Promise.all([
      (await answers(visitor).count()) === 2 ? bubble().textContent() : "",
      console.locator("[data-testid=agent-typing]").textContent(),
    ]);
    if (text && inWidget.at(-1) !== text) inWidget.push(text);
    if (consoleLine.trim()) inConsole.add(consoleLine.trim());
    return (await rest(`messages?conversation_id=eq.${message.conversation_id}&sender_type=eq.ai&select=id`)).length === 2;
  }, "the second answer stored");
  await visitor.waitForTimeout(500);
  const stored = await bubble().textContent();
  const drafts = inWidget.filter((text) => text !== "…" && text !== stored);
  assert.ok(drafts.length >= 2, `the answer formed in pieces in the widget: ${inWidget}`);
  assert.ok(drafts.every((draft) => stored.startsWith(draft)), `each draft is the start of ${stored}: ${drafts}`);
  assert.ok([...inConsole].some((line) => line.includes("is answering:")), `the console saw it: ${[...inConsole]}`);
  const [answer] = await rest(`messages?conversation_id=eq.${message.conversation_id}&sender_type=eq.ai&order=seq.desc&limit=1&select=content`);
  assert.equal(stored, answer.content, "the bubble ends as the stored answer");
  await console.locator("[data-testid=messages] [data-testid=message]", { hasText: "How do I track my order?" }).waitFor();
  await visitor.screenshot({ path: `${artifacts}/agent-answer.png` });

  // The visitor asks for a person with the button under the agent's answer: the handoff
  // message, the chat in the queue, the button gone.
  await visitor.locator("[data-testid=chat-offer]", { hasText: "Talk to a person" }).click();
  await visitor.locator("[data-testid=chat-message][data-sender=system]", { hasText: "passing you to a person" }).waitFor();
  await console.locator("[data-testid=conversation-status]", { hasText: "Waiting in the queue" }).waitFor();
  assert.equal(await answers(visitor).count(), 2, "each answer once");
  assert.equal(await visitor.locator("[data-testid=chat-offer]").isVisible(), false, "asked once");
  // The agent has stopped: the next message is the queue's (at most the away message, as
  // nobody is online), never the model's.
  await fetch(`${process.env.STACK_MODEL_URL}/requests`, { method: "DELETE" });
  await send(visitor, "Is anyone there?");
  await visitor.locator('[data-testid=chat-message]:not([data-pending]) >> text="Is anyone there?"').waitFor();
  await visitor.waitForTimeout(1500);
  const kinds = await rest(`messages?conversation_id=eq.${message.conversation_id}&sender_type=eq.ai&select=metadata&order=seq`);
  assert.deepEqual(kinds.map((m) => m.metadata.kind).filter((k) => k !== "away_message"), ["ai_reply", "ai_reply"]);
  assert.deepEqual(await (await fetch(`${process.env.STACK_MODEL_URL}/requests`)).json(), [], "the model was not asked");
  const [handed] = await rest(`conversations?id=eq.${message.conversation_id}&select=status,handed_off_at`);
  assert.equal(handed.status, "waiting");
  assert.ok(handed.handed_off_at);
  for (const page of [visitor, console]) await page.context().close();
});

test("a failing provider hands off with a message and no typing line left behind", async () => {
  const visitor = await openLink();
  await send(visitor, "Hi [error]");
  await visitor
    .locator("[data-testid=chat-message][data-sender=system]", { hasText: "Our assistant could not answer just now." })
    .waitFor({ timeout: 10_000 });
  // The "thinking" draft is gone: no answer bubble is left behind.
  await until(async () => (await answers(visitor).count()) === 0, "the draft removed");
  await visitor.context().close();
});

test("the owner turns agents on for the widget with the site's own provider; the visitor's chat is answered, handed over, counted", async () => {
  const [iris] = await rest("agents", {
    method: "POST",
    body: { site_id: DEMO_SITE_ID, name: "Iris", persona: "Friendly.", system_prompt: "Help with orders.", model: "gpt-4o-mini" },
  });
  // Tall enough for the whole panel in its screenshot.
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 2000 } })).newPage();
  await signIn(page, "owner@demo.test");
  await page.locator("nav.sections").getByRole("button", { name: "Knowledge", exact: true }).click();
  const form = page.locator("[data-testid=ai-settings]");
  await form.getByLabel("Tokens per day (UTC)").fill("10");
  await form.getByRole("button", { name: "Save" }).click();
  await form.locator("[data-testid=ai-problem]", { hasText: "Fix the fields marked below first." }).waitFor();
  await form.getByText("Use a number of tokens from 1000 to 100000000.").waitFor();
  await form.getByLabel("Tokens per day (UTC)").fill("50000");
  await form.getByLabel("Agents answer new chats on the widget").check();
  await page.locator("#ai-agent").selectOption({ label: "Iris" });
  await form.getByLabel("Handoff message (when a person takes over)").fill("Iris passes you to a colleague.");
  await form.getByLabel("Endpoint").fill(`${process.env.STACK_MODEL_URL}/site/v1`);
  await form.getByLabel("Model (empty: each agent's own)").fill("site-model");
  await form.getByLabel("API key").fill(process.env.STACK_MODEL_SITE_KEY);
  await form.getByRole("button", { name: "Save" }).click();
  await form.locator("[data-testid=ai-saved]").waitFor();
  await form.locator("[data-testid=ai-key-state]", { hasText: "A key is stored" }).waitFor();
  assert.equal(await form.getByLabel("API key").inputValue(), "", "the key is never shown again");
  const [stored] = await rest(`site_ai_settings?site_id=eq.${DEMO_SITE_ID}&select=enabled,default_agent_id,handoff_message,daily_token_budget,provider_base_url,provider_model,provider_key`);
  assert.deepEqual(stored, {
    enabled: true,
    default_agent_id: iris.id,
    handoff_message: "Iris passes you to a colleague.",
    daily_token_budget: 50000,
    provider_base_url: `${process.env.STACK_MODEL_URL}/site/v1`,
    provider_model: "site-model",
    provider_key: process.env.STACK_MODEL_SITE_KEY,
  });

  try {
    // A visitor on the demo page: Iris answers through the site's provider, then hands over.
    await fetch(`${process.env.STACK_MODEL_URL}/requests`, { method: "DELETE" });
    const visitor = await (await browser.newContext()).newPage();
    await startChat(visitor, "Wren");
    await send(visitor, "Where is my parcel?");
    const offer = visitor.locator("[data-testid=chat-offer]", { hasText: "Talk to a person" });
    await until(async () => (await answers(visitor).count()) === 1 && (await offer.isVisible()), "the answer stored, the button under it");
    const [request] = (await (await fetch(`${process.env.STACK_MODEL_URL}/requests`)).json()).filter((r) => r.body?.stream);
    assert.equal(request.path, "/site/v1/chat/completions");
    assert.equal(request.body.model, "site-model");
    assert.equal(request.authorization, `Bearer ${process.env.STACK_MODEL_SITE_KEY}`);
    await offer.click();
    await visitor.locator("[data-testid=chat-message][data-sender=system]", { hasText: "Iris passes you to a colleague." }).waitFor();
    await until(async () => !(await offer.isVisible()), "the button gone");
    await visitor.context().close();

    // The day's use, on the owner's next visit.
    await page.reload();
    await page.locator("nav.sections").getByRole("button", { name: "Knowledge", exact: true }).click();
    const today = new Date().toISOString().slice(0, 10);
    const day = page.locator("[data-testid=ai-usage] tr", { hasText: today });
    await day.waitFor();
    const cells = await day.locator("td").allTextContents();
    assert.ok(Number(cells[1]) > 0 && Number(cells[2]) >= 1 && Number(cells[3]) >= 1, `tokens, answers, handoffs: ${cells}`);
    assert.equal(await page.locator("#ai-agent").inputValue(), iris.id, "the saved agent shown as chosen");
    // Beside the budget: today's tokens against it.
    const spent = await page.locator("[data-testid=ai-today]").textContent();
    assert.equal(spent, `${Number(cells[1])} of 50000 tokens spent today, ${today} UTC (${Math.floor((Number(cells[1]) * 100) / 50000)}%).`);
    await page.locator("section[aria-labelledby=ai-heading]").screenshot({ path: `${artifacts}/console-ai-settings.png` });

    // The endpoint removed: its key goes with it; agents off on the widget.
    await form.getByLabel("Agents answer new chats on the widget").uncheck();
    await form.getByLabel("Endpoint").fill("");
    await form.getByLabel("Model (empty: each agent's own)").fill("");
    await form.getByRole("button", { name: "Save" }).click();
    await form.locator("[data-testid=ai-key-state]", { hasText: "No key is stored." }).waitFor();
    const [after] = await rest(`site_ai_settings?site_id=eq.${DEMO_SITE_ID}&select=enabled,provider_base_url,provider_model,provider_key`);
    assert.deepEqual(after, { enabled: false, provider_base_url: null, provider_model: null, provider_key: null });
  } finally {
    await page.context().close();
    // The other tests' widget chats go to the queue, as before.
    await rest(`site_ai_settings?site_id=eq.${DEMO_SITE_ID}`, {
      method: "PATCH",
      body: { enabled: false, default_agent_id: null, provider_base_url: null, provider_model: null, provider_key: null, daily_token_budget: 200000 },
    });
    await rest(`agents?id=eq.${iris.id}`, { method: "DELETE" });
  }
});
