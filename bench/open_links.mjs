// Opening temporary-link sessions under load: rounds of 50 concurrent
// `POST /v1/links/{code}/sessions` (through the edge in workerd, PostgREST and the atomic SQL
// function) against a baseline measured in the same run: rounds of 50 concurrent reads of the
// widget settings through the same path. Run by `cargo xtask bench api`.
import assert from "node:assert/strict";
import { sign } from "../tests/shared/jwt.mjs";

const edge = process.env.STACK_EDGE_URL;
const api = process.env.STACK_API_URL;
const serviceKey = process.env.STACK_SECRET_KEY;
assert.ok(edge && api && serviceKey && process.env.STACK_JWT_SECRET, "run with `cargo xtask bench api`");
const CONCURRENCY = 50;
const ROUNDS = 20;
const DEMO_OWNER = "00000000-0000-4000-8000-000000000001";
const owner = sign({ sub: DEMO_OWNER, role: "authenticated", aud: "authenticated" });

/** Insert `body` through PostgREST as the service role; returns the row. */
async function insert(table, body) {
  const response = await fetch(`${api}/rest/v1/${table}?select=id`, {
    method: "POST",
    headers: { apikey: serviceKey, authorization: `Bearer ${serviceKey}`, "content-type": "application/json", prefer: "return=representation" },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 201, await response.clone().text());
  return (await response.json())[0];
}

/** A link on a site of its own: a site takes at most 300 new sessions a minute
 * (SESSION_STARTS_PER_SITE_PER_MINUTE), and the rounds together open more. */
async function newLink(round) {
  const site = await insert("sites", { owner_id: DEMO_OWNER, name: `Bench ${round}`, site_key: `bench-${Date.now()}-${round}` });
  const agent = await insert("agents", { site_id: site.id, name: "Bench agent" });
  const response = await fetch(`${edge}/v1/links`, {
    method: "POST",
    headers: { authorization: `Bearer ${owner}`, "content-type": "application/json" },
    body: JSON.stringify({ agent_id: agent.id, title: "Bench", expires_in_hours: 1, max_sessions: CONCURRENCY }),
  });
  assert.equal(response.status, 201);
  return response.json();
}

async function timed(request) {
  const started = performance.now();
  const response = await request();
  await response.arrayBuffer();
  return { ms: performance.now() - started, status: response.status };
}

function percentiles(samples) {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { p50: at(0.5), p99: at(0.99) };
}

const opens = [];
const reads = [];
for (let round = 0; round < ROUNDS; round++) {
  const link = await newLink(round);
  const open = () =>
    fetch(`${edge}/v1/links/${link.short_code}/sessions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: link.token }),
    });
  opens.push(...(await Promise.all(Array.from({ length: CONCURRENCY }, () => timed(open)))));
  const read = () => fetch(`${edge}/v1/sites/demo-site/widget`);
  reads.push(...(await Promise.all(Array.from({ length: CONCURRENCY }, () => timed(read)))));
}
assert.ok(opens.every((o) => o.status === 201), "every open within max_sessions succeeds");
const o = percentiles(opens);
const r = percentiles(reads);
console.log(`\nLink sessions: ${ROUNDS} rounds of ${CONCURRENCY} concurrent opens (each round a new link, max_sessions ${CONCURRENCY})`);
console.log(`                         p50 ms    p99 ms`);
console.log(`open a link session   ${o.p50.toFixed(1).padStart(8)}  ${o.p99.toFixed(1).padStart(8)}`);
console.log(`baseline: read config ${r.p50.toFixed(1).padStart(8)}  ${r.p99.toFixed(1).padStart(8)}`);
console.log(`ratio                 ${(o.p50 / r.p50).toFixed(2).padStart(8)}  ${(o.p99 / r.p99).toFixed(2).padStart(8)}`);
