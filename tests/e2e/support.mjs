// What the browser tests share: where the stack is, Debian's Chromium, and REST calls as the
// service role (the way an operator console or the seed would change data).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";
import { sign } from "../shared/jwt.mjs";

export const site = process.env.STACK_SITE_URL;
export const api = process.env.STACK_API_URL;
export const edge = process.env.STACK_EDGE_URL;
const serviceKey = process.env.STACK_SECRET_KEY;
const publishableKey = process.env.STACK_PUBLISHABLE_KEY;
export const artifacts = process.env.STACK_ARTIFACTS;
const devstackPidFile = process.env.STACK_DEVSTACK_PID_FILE;
assert.ok(site && api && edge && serviceKey && publishableKey && artifacts && devstackPidFile, "run with `cargo xtask test`");
mkdirSync(artifacts, { recursive: true });

/** The seeded demo site and its owner (devstack/sql/seed.sql). */
export const DEMO_SITE_ID = "00000000-0000-4000-8000-000000000101";
export const DEMO_OWNER_ID = "00000000-0000-4000-8000-000000000001";

/** Debian's Chromium, headless, with a fresh profile. */
export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/** A REST call as the service role; returns the parsed body, asserting a 2xx status. */
export async function rest(path, { method = "GET", body } = {}) {
  const response = await fetch(`${api}/rest/v1/${path}`, {
    method,
    headers: {
      apikey: serviceKey,
      authorization: `Bearer ${serviceKey}`,
      "content-type": "application/json",
      prefer: "return=representation",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** An RPC as the demo site's owner, with an Auth token (the way the operator console calls it). */
export async function asOwner(fn, body) {
  const token = sign({ sub: DEMO_OWNER_ID, role: "authenticated", aud: "authenticated" });
  const response = await fetch(`${api}/rest/v1/rpc/${fn}`, {
    method: "POST",
    headers: { apikey: publishableKey, authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `rpc/${fn}: ${response.status} ${text}`);
  return JSON.parse(text);
}

/** Change the demo site's widget settings. */
export async function setDemoSettings(values) {
  const rows = await rest(`widget_settings?site_id=eq.${DEMO_SITE_ID}`, { method: "PATCH", body: values });
  assert.equal(rows.length, 1);
}

/** The session the widget saved in the page's storage. */
export async function savedSession(page) {
  return page.evaluate(() => JSON.parse(localStorage.getItem("chat-widget:demo-site") || "{}").session || null);
}

/** Open the widget on the demo page and get past the pre-chat form (name and email asked). */
export async function startChat(page, name = "Ann") {
  await page.goto(site);
  await page.locator("[data-testid=chat-launcher]").click();
  await page.locator("[data-testid=chat-field-name]").fill(name);
  await page.locator("[data-testid=chat-field-email]").fill(`${name.toLowerCase().replace(/\W+/g, "")}-${randomUUID().slice(0, 6)}@example.test`);
  await page.locator("[data-testid=chat-start]").click();
  await page.locator("[data-testid=chat-input]").waitFor();
}

/** Type a message into the widget and send it with Enter. */
export async function send(page, text) {
  await page.locator("[data-testid=chat-input]").fill(text);
  await page.locator("[data-testid=chat-input]").press("Enter");
}

/** A new Auth user who works on the demo site as `role` under `name`, `availability` given. */
export async function newStaff(role, name, availability = "offline") {
  const email = `${name.toLowerCase()}-${randomUUID().slice(0, 8)}@demo.test`;
  const password = "staff-password";
  const response = await fetch(`${api}/auth/v1/signup`, {
    method: "POST",
    headers: { apikey: publishableKey, "content-type": "application/json" },
    body: JSON.stringify({ email, password }),
  });
  const body = await response.json();
  assert.ok(response.ok, `signup: ${response.status} ${JSON.stringify(body)}`);
  const id = (body.user ?? body).id;
  await rest("site_members", { method: "POST", body: { site_id: DEMO_SITE_ID, user_id: id, role, display_name: name, availability } });
  return { id, email, password, name };
}

/** Kill the devstack (its keeper starts a new one); resolves once the new one answers. */
export async function restartDevstack() {
  const pid = Number(readFileSync(devstackPidFile, "utf8").trim());
  process.kill(pid, "SIGKILL");
  return async function back() {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const up = await fetch(`${api}/auth/v1/health`).then((r) => r.ok, () => false);
      if (up) break;
      assert.ok(Date.now() < deadline, "the devstack did not come back");
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.notEqual(Number(readFileSync(devstackPidFile, "utf8").trim()), pid, "a new devstack process");
  };
}

/** Sign in to the console (served by the edge at /console/) as `email`. */
export async function signIn(page, email, password = "demo-password") {
  await page.goto(`${edge}/console/`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Wait (up to 10 s) until `condition()` holds (it may return a promise). */
export async function until(condition, what) {
  for (const started = Date.now(); !(await condition()); ) {
    assert.ok(Date.now() - started < 10_000, `timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
