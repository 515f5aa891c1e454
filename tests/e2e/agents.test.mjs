// Browser: an AI agent answers on a temporary link's page with the language model (the
// stand-in, tests/stand-ins/model.mjs, streams its answer): the answer forms in its bubble in
// the widget and in the operator's console as it arrives, is stored once, and the visitor asks
// for a person; a failing provider hands off with a message and leaves no draft behind. Run by `cargo xtask test`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { sign } from "../shared/jwt.mjs";
import { DEMO_OWNER_ID, DEMO_SITE_ID, artifacts, edge, launch, rest, send, signIn, until } from "./support.mjs";

let browser;
before(async () => (browser = await launch()));
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

  // The visitor asks for a person (POST /v1/handoff): the handoff message, the chat in the queue.
  const token = await visitor.evaluate(() => {
    for (const key of Object.keys(localStorage)) {
      const jwt = JSON.parse(localStorage.getItem(key) || "{}").session?.guest_jwt;
      if (jwt) return jwt;
    }
  });
  const handoff = await fetch(`${edge}/v1/handoff`, { method: "POST", headers: { authorization: `Bearer ${token}` } });
  assert.equal(handoff.status, 200);
  await visitor.locator("[data-testid=chat-message][data-sender=system]", { hasText: "passing you to a person" }).waitFor();
  await console.locator("[data-testid=conversation-status]", { hasText: "Waiting in the queue" }).waitFor();
  assert.equal(await answers(visitor).count(), 2, "each answer once");
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
