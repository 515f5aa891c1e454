// First render of the console's inbox with 1,000 open conversations (its first page of 50
// drawn, from navigation start, in Debian's Chromium), against a baseline measured in the same
// run: the same inbox with no conversation. Signed in as the demo operator. Run by
// `cargo xtask bench` on its own stack.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const edge = process.env.STACK_EDGE_URL;
const api = process.env.STACK_API_URL;
const serviceKey = process.env.STACK_SECRET_KEY;
assert.ok(edge && api && serviceKey, "run with `cargo xtask bench`");
const SITE = "00000000-0000-4000-8000-000000000101";
const OPEN = 1000;
const SAMPLES = 7;

async function rest(path, method = "GET", body) {
  const response = await fetch(`${api}/rest/v1/${path}`, {
    method,
    headers: { apikey: serviceKey, authorization: `Bearer ${serviceKey}`, "content-type": "application/json", prefer: "return=representation" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const page = await context.newPage();
await page.goto(`${edge}/console/`);
await page.getByLabel("Email").fill("operator@demo.test");
await page.getByLabel("Password").fill("demo-password");
await page.getByRole("button", { name: "Sign in" }).click();
await page.locator(".inbox[aria-busy=false]").waitFor();

/** Milliseconds from navigation start until the inbox shows `rows` conversations. */
async function firstRender(rows) {
  await page.goto(`${edge}/console/`);
  const handle = await page.waitForFunction(
    (rows) => document.querySelector(".inbox[aria-busy=false]") && document.querySelectorAll("[data-testid=conversation]").length === rows && performance.now(),
    rows,
    { polling: "raf", timeout: 30_000 },
  );
  return handle.jsonValue();
}

async function median(rows) {
  const samples = [];
  for (let i = 0; i < SAMPLES; i++) samples.push(await firstRender(rows));
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

const open = await rest(`conversations?site_id=eq.${SITE}&status=in.(waiting,active)&select=id`);
assert.equal(open.length, 0, "the bench starts from an inbox with no open conversation");
const empty = await median(0);

const customers = await rest("customers", "POST", Array.from({ length: OPEN }, (_, i) => ({ site_id: SITE, name: `Bench visitor ${i}` })));
const now = Date.now();
const conversations = await rest("conversations", "POST", customers.map((c, i) => ({
  site_id: SITE, customer_id: c.id, status: "waiting", last_message_at: new Date(now - i * 1000).toISOString(),
})));
await rest("messages", "POST", conversations.map((c, i) => ({
  conversation_id: c.id, site_id: SITE, sender_type: "customer", sender_customer_id: customers[i].id, content: `Question ${i}`,
})));
const full = await median(50);
await browser.close();

console.log(`console inbox first render, median of ${SAMPLES} (navigation start to the first page drawn):`);
console.log(`  no open conversation      ${empty.toFixed(0)} ms (baseline)`);
console.log(`  ${OPEN} open conversations  ${full.toFixed(0)} ms  ratio ${(full / empty).toFixed(2)}`);
