// Browser: the demo customer page in Debian's Chromium, driven by Playwright.
// Run by `cargo xtask test` (it starts the stack and sets STACK_*).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { DEMO_OWNER_ID, DEMO_SITE_ID, artifacts, edge, launch, rest, setDemoSettings, site } from "./support.mjs";

let browser;
before(async () => (browser = await launch()));
after(async () => browser?.close());

/** Set the demo owner's availability (what the console's online switch does). */
async function ownerAvailability(availability) {
  await rest(`site_members?site_id=eq.${DEMO_SITE_ID}&user_id=eq.${DEMO_OWNER_ID}`, { method: "PATCH", body: { availability } });
}

test("the demo page shows the widget styled from widget_settings", async () => {
  const welcome = `Welcome, tester ${randomUUID().slice(0, 8)}!`;
  await setDemoSettings({ welcome_message: welcome, primary_color: "#b91c1c", title: "Browser test desk" });
  await ownerAvailability("online");

  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await page.goto(site);

  // Playwright's CSS locators pierce the open shadow root.
  const launcher = page.locator("[data-testid=chat-launcher]");
  await launcher.waitFor({ timeout: 20_000 });
  assert.equal(await launcher.evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(185, 28, 28)");
  assert.equal(await launcher.getAttribute("aria-label"), "Open chat");

  await launcher.click();
  const welcomeText = page.locator("[data-testid=chat-welcome]");
  await welcomeText.waitFor();
  assert.equal(await welcomeText.textContent(), welcome);
  assert.equal(await page.locator("[data-testid=chat-header]").evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(185, 28, 28)");
  assert.match(await page.locator("[data-testid=chat-header]").textContent(), /Browser test desk/);
  assert.equal(await page.locator("[data-testid=chat-agent]").textContent(), "Maya from Demo Shop");

  // The host page's hostile CSS (Georgia everywhere, red paragraphs) does not leak in.
  const style = await welcomeText.evaluate((el) => ({ font: getComputedStyle(el).fontFamily, color: getComputedStyle(el).color }));
  assert.doesNotMatch(style.font, /Georgia/);
  assert.notEqual(style.color, "rgb(255, 0, 0)");
  // ...and the widget's styles do not leak out.
  assert.equal(await page.locator("main p").evaluate((el) => getComputedStyle(el).color), "rgb(255, 0, 0)");

  await page.screenshot({ path: `${artifacts}/widget-open.png` });
  assert.deepEqual(errors, []);

  await page.locator("[data-testid=chat-close]").click();
  assert.equal(await page.locator("[data-testid=chat-welcome]").count(), 0);
  await page.close();

  // With nobody online the widget says so and greets with the offline message.
  await ownerAvailability("offline");
  await setDemoSettings({ offline_message: "Back tomorrow at nine." });
  const away = await browser.newPage();
  await away.goto(site);
  await away.locator("[data-testid=chat-launcher]").click();
  assert.equal(await away.locator("[data-testid=chat-welcome]").textContent(), "Back tomorrow at nine.");
  assert.match(await away.locator("[data-testid=chat-status]").textContent(), /away/);
  await away.close();
});

test("nothing is stored and no cookie is set until the visitor opens the widget", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const loaded = page.waitForResponse((r) => /\/widget\/[0-9a-f]{16}\/chat-widget_bg\.wasm$/.test(r.url()));
  await page.goto(site);
  await loaded;
  // The widget loaded on idle and is running: still nothing written.
  await page.locator("[data-testid=chat-launcher]").waitFor();
  await page.waitForTimeout(1500);
  assert.deepEqual(await page.evaluate(() => [localStorage.length, sessionStorage.length, document.cookie]), [0, 0, ""]);
  assert.deepEqual(await context.cookies(), []);
  await context.close();
});

test("an unknown site key shows no widget and leaves the page alone", async () => {
  const page = await browser.newPage();
  const warnings = [];
  page.on("console", (m) => m.type() === "warning" && warnings.push(m.text()));
  // A page served by the real site server: Chromium refuses loopback scripts on synthesized pages.
  await page.goto(`${site}/?site=no-such-site`);
  await page.waitForTimeout(1500);
  assert.equal(await page.locator("[data-testid=chat-launcher], [data-testid=chat-launcher-stub]").count(), 0);
  assert.equal(await page.locator("main h1").textContent(), "Demo Shop");
  assert.ok(warnings.some((w) => w.includes("no-such-site")), `warned: ${warnings}`);
  await page.close();
});

test("an unreachable service shows a muted launcher that says so, and loads nothing", async () => {
  const page = await browser.newPage();
  const wasm = [];
  page.on("request", (r) => r.url().includes("/widget/") && wasm.push(r.url()));
  await page.route(`${edge}/v1/**`, (route) => route.abort("connectionrefused"));
  await page.goto(site);
  const launcher = page.locator("[data-testid=chat-launcher-stub][aria-label='Chat unavailable']");
  await launcher.waitFor({ timeout: 20_000 });
  await launcher.click();
  assert.equal(await launcher.getAttribute("aria-expanded"), "true");
  assert.match(await page.locator("[data-testid=chat-unavailable]").textContent(), /unavailable right now/);
  assert.equal(await page.locator("main h1").textContent(), "Demo Shop");
  assert.deepEqual(wasm, [], "the widget itself is not downloaded");
  await page.screenshot({ path: `${artifacts}/widget-unavailable.png` });
  await page.close();
});
