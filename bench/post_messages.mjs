// Latency of POST /v1/messages (1,000 sequential posts through the edge in workerd, PostgREST
// and Postgres) against a baseline measured in the same run: 1,000 sequential reads of the
// widget settings through the same path. Run by `cargo xtask bench` on its own stack.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";

const edge = process.env.STACK_EDGE_URL;
const api = process.env.STACK_API_URL;
const serviceKey = process.env.STACK_SECRET_KEY;
assert.ok(edge && api && serviceKey, "run with `cargo xtask bench`");
const N = 1000;
// Per-session rate limits top out at 100 a minute: spread the posts over sessions.
const PER_SESSION = 90;

async function rest(path, method, body) {
  const response = await fetch(`${api}/rest/v1/${path}`, {
    method,
    headers: { apikey: serviceKey, authorization: `Bearer ${serviceKey}`, "content-type": "application/json", prefer: "return=representation" },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  assert.ok(response.ok, `${path}: ${response.status} ${text}`);
  return JSON.parse(text);
}

const siteKey = `bench-${randomUUID().slice(0, 8)}`;
const [site] = await rest("sites", "POST", {
  owner_id: "00000000-0000-4000-8000-000000000001", name: "Bench", site_key: siteKey, default_rate_limit_per_minute: 100,
});
await rest(`widget_settings?site_id=eq.${site.id}`, "PATCH", { require_name: false, require_email: false });

async function timed(f) {
  const started = performance.now();
  await f();
  return performance.now() - started;
}

function stats(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

async function newSession() {
  const response = await fetch(`${edge}/v1/sessions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ site_key: siteKey }) });
  assert.equal(response.status, 201);
  return response.json();
}

for (let i = 0; i < 50; i++) await (await fetch(`${edge}/v1/sites/${siteKey}/widget`)).arrayBuffer();

const reads = [];
for (let i = 0; i < N; i++) {
  reads.push(await timed(async () => {
    const response = await fetch(`${edge}/v1/sites/${siteKey}/widget`);
    assert.equal(response.status, 200);
    await response.arrayBuffer();
  }));
}

const posts = [];
let session = await newSession();
for (let i = 0; i < N; i++) {
  if (i > 0 && i % PER_SESSION === 0) session = await newSession();
  posts.push(await timed(async () => {
    const response = await fetch(`${edge}/v1/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${session.guest_jwt}`, "content-type": "application/json" },
      body: JSON.stringify({ client_msg_id: randomUUID(), content: `Benchmark message ${i}` }),
    });
    const body = await response.text();
    assert.equal(response.status, 201, body);
  }));
}

const read = stats(reads);
const post = stats(posts);
const ms = (v) => v.toFixed(1).padStart(7);
console.log(`\n${N} sequential requests each, same run (ms):`);
console.log("                                   p50      p99     mean");
console.log(`GET  /v1/sites/{key}/widget   ${ms(read.p50)}  ${ms(read.p99)}  ${ms(read.mean)}   (baseline)`);
console.log(`POST /v1/messages             ${ms(post.p50)}  ${ms(post.p99)}  ${ms(post.mean)}`);
console.log(`ratio POST / GET              ${(post.p50 / read.p50).toFixed(2).padStart(7)}  ${(post.p99 / read.p99).toFixed(2).padStart(7)}`);
