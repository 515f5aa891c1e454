// Browser: the widget on a page with a strict Content-Security-Policy, exactly the one the
// README documents (no 'unsafe-inline' anywhere). Run by `cargo xtask test`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { DEMO_SITE_ID, artifacts, launch, rest, setDemoSettings, site } from "./support.mjs";

let browser;
before(async () => {
  browser = await launch();
  await rest(`sites?id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: { allowed_origins: [site] } });
  await setDemoSettings({ require_name: false, require_email: false, primary_color: "#7c3aed", color_scheme: "light" });
});
after(async () => browser?.close());

/** The demo's strict page (`public/demo/strict.html`), served with the README's policy;
 * `wasm` false leaves out 'wasm-unsafe-eval'. Collects what the policy blocked. */
async function shop(wasm = true) {
  const page = await browser.newPage();
  const blocked = [];
  page.on("console", (message) => /Content.Security.Policy/i.test(message.text()) && blocked.push(message.text()));
  const response = await page.goto(`${site}/strict.html${wasm ? "" : "?wasm=off"}`);
  const policy = response.headers()["content-security-policy"];
  assert.match(policy, /^default-src 'none'; /, "served under the strict policy");
  assert.equal(policy.includes("'wasm-unsafe-eval'"), wasm);
  return { page, blocked };
}

const background = (locator) => locator.evaluate((el) => getComputedStyle(el).backgroundColor);

test("under the documented policy the widget is styled, starts and chats, and nothing is blocked", async () => {
  const { page, blocked } = await shop();
  const launcher = page.locator("[data-testid=chat-launcher]");
  await launcher.waitFor();
  assert.equal(await background(launcher), "rgb(124, 58, 237)", "the launcher has the site's colour");
  await launcher.click();
  await page.locator("[data-testid=chat-input]").fill("Hello from a strict page");
  await page.locator("[data-testid=chat-input]").press("Enter");
  await page.locator('[data-testid=chat-message]:not([data-pending]) >> text="Hello from a strict page"').waitFor({ timeout: 20_000 });
  assert.equal(await background(page.locator("[data-testid=chat-header]")), "rgb(124, 58, 237)", "the panel is styled");
  await page.screenshot({ path: `${artifacts}/csp-shop.png` });
  assert.deepEqual(blocked, [], "the policy blocked nothing");
  await page.close();
});

test("where the policy forbids WebAssembly, the launcher stays styled and says chat is unavailable", async () => {
  const { page } = await shop(false);
  const stub = page.locator("[data-testid=chat-launcher-stub]");
  await stub.waitFor();
  await stub.click();
  await page.locator("[data-testid=chat-unavailable]").waitFor({ timeout: 10_000 });
  assert.equal(await background(page.locator("[data-testid=chat-launcher-stub]")), "rgb(156, 163, 175)", "muted, not unstyled");
  await page.close();
});
