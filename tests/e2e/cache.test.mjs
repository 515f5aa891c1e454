// Browser: the widget is loaded on every page view of every customer site, so a second page
// view must fetch no widget byte: the widget's files are content-hashed and immutable, and only
// embed.js (which names them) lives briefly in the cache.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launch, site } from "./support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** Every request of `page` for embed.js or the widget, and whether the HTTP cache answered it. */
async function recordLoads(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const loads = new Map();
  cdp.on("Network.requestWillBeSent", ({ requestId, request }) => {
    const path = new URL(request.url).pathname;
    if (path === "/embed.js" || path.startsWith("/widget/")) loads.set(requestId, { path, cached: false });
  });
  const cached = ({ requestId }) => loads.has(requestId) && (loads.get(requestId).cached = true);
  cdp.on("Network.requestServedFromCache", cached);
  cdp.on("Network.responseReceived", ({ requestId, response }) => {
    if (response.fromDiskCache || response.fromMemoryCache || response.fromPrefetchCache) cached({ requestId });
  });
  return { take: () => [...loads.values()], clear: () => loads.clear() };
}

async function viewAndOpen(page) {
  await page.goto(site);
  await page.locator("[data-testid=chat-launcher]").click({ timeout: 20_000 });
  await page.locator("[data-testid=chat-welcome]").waitFor();
}

test("a second page view fetches no widget byte", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const loads = await recordLoads(page);

  await viewAndOpen(page);
  const first = loads.take();
  const fetched = (list) => list.filter((load) => !load.cached).map((load) => load.path).sort();
  assert.equal(fetched(first).length, 3, `embed.js, the glue and the wasm from the network: ${JSON.stringify(first)}`);
  assert.ok(fetched(first).some((path) => /^\/widget\/[0-9a-f]{16}\/chat-widget_bg\.wasm$/.test(path)));

  loads.clear();
  await viewAndOpen(page);
  const second = loads.take();
  assert.ok(second.length >= 3, `the second view loads the widget too: ${JSON.stringify(second)}`);
  assert.deepEqual(fetched(second), [], "nothing of the widget came from the network");
  await context.close();
});
