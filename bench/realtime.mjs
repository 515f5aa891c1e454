// Realtime load: typing broadcasts between 1,000 sockets in 500 two-party channels, then how
// many sockets a server holds and what each costs in memory. Measured for the local Realtime
// server and, in the same run, for a reference: a minimal Node `ws` broadcast server speaking
// the same subset of the protocol. Prints both and their ratio. Run by `cargo xtask bench realtime`.
import assert from "node:assert/strict";
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import WebSocket, { WebSocketServer } from "ws";

const SOCKETS = 1000;
const ROUNDS = 20;
const RATE_PER_SECOND = 2000;
const HOLD_STEP = 1000;
const HOLD_MAX = Number(process.env.REALTIME_BENCH_MAX_SOCKETS ?? 15000);

// The reference server, started as its own process by the bench (argument "reference").
if (process.argv[2] === "reference") {
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  const topics = new Map();
  server.on("connection", (socket) => {
    const joined = new Set();
    socket.on("message", (data) => {
      const [joinRef, ref, topic, event, payload] = JSON.parse(data.toString());
      if (event === "phx_join") {
        if (!topics.has(topic)) topics.set(topic, new Set());
        topics.get(topic).add(socket);
        joined.add(topic);
        socket.send(JSON.stringify([joinRef, ref, topic, "phx_reply", { status: "ok", response: { postgres_changes: [] } }]));
      } else if (event === "broadcast") {
        const frame = JSON.stringify([null, null, topic, "broadcast", payload]);
        for (const peer of topics.get(topic) ?? []) if (peer !== socket) peer.send(frame);
      } else if (event === "heartbeat") {
        socket.send(JSON.stringify([null, ref, "phoenix", "phx_reply", { status: "ok", response: {} }]));
      }
    });
    socket.on("close", () => joined.forEach((t) => topics.get(t)?.delete(socket)));
  });
  server.on("listening", () => process.send({ port: server.address().port }));
} else {
  await main();
}

async function main() {
  const apiUrl = process.env.STACK_API_URL;
  const anonKey = process.env.STACK_PUBLISHABLE_KEY;
  const pidFile = process.env.STACK_DEVSTACK_PID_FILE;
  assert.ok(apiUrl && anonKey && pidFile, "run with `cargo xtask bench realtime`");
  const local = {
    name: "local Realtime (devstack)",
    url: `${apiUrl.replace(/^http/, "ws")}/realtime/v1/websocket?apikey=${anonKey}&vsn=2.0.0`,
    pid: Number(readFileSync(pidFile, "utf8").trim()),
  };
  const child = fork(fileURLToPath(import.meta.url), ["reference"], { stdio: "inherit" });
  const { port } = await new Promise((resolve) => child.once("message", resolve));
  const reference = { name: "reference (Node ws)", url: `ws://127.0.0.1:${port}/socket/websocket?vsn=2.0.0`, pid: child.pid };

  const results = [];
  for (const server of [local, reference]) results.push({ server, ...(await measure(server)) });
  child.kill();

  const [ours, theirs] = results;
  const row = (label, a, b, unit) =>
    console.log(`${label.padEnd(34)} ${fmt(a).padStart(10)} ${fmt(b).padStart(10)} ${unit.padEnd(6)} ${(a / b).toFixed(2).padStart(6)}`);
  console.log(`\nRealtime: ${SOCKETS} sockets in ${SOCKETS / 2} two-party channels, ${ROUNDS} typing broadcasts per channel`);
  console.log(`${"".padEnd(34)} ${"local".padStart(10)} ${"reference".padStart(10)} ${"unit".padEnd(6)} ${"ratio".padStart(6)}`);
  row("typing latency p50", ours.p50, theirs.p50, "ms");
  row("typing latency p99", ours.p99, theirs.p99, "ms");
  row("broadcasts delivered", ours.delivered, theirs.delivered, "");
  row(`sockets held (tried up to ${HOLD_MAX})`, ours.held, theirs.held, "");
  row("memory per socket", ours.perSocket, theirs.perSocket, "KiB");
}

function fmt(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function rssKiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
}

/** Opens a socket and joins `topic` (public); resolves once the join is accepted. */
function joined(url, topic) {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    socket.binaryType = "nodebuffer";
    socket.once("error", reject);
    socket.topic = `realtime:${topic}`;
    socket.once("open", () => socket.send(JSON.stringify(["1", "1", socket.topic, "phx_join", { config: {} }])));
    const onMessage = (data, binary) => {
      if (binary) return;
      const [, ref, , event, payload] = JSON.parse(data.toString());
      if (event === "phx_reply" && ref === "1") {
        socket.off("message", onMessage);
        payload.status === "ok" ? resolve(socket) : reject(new Error(JSON.stringify(payload)));
      }
    };
    socket.on("message", onMessage);
  });
}

/** Opens `count` sockets, `parallel` at a time, pairing them on `prefix-<n/2>`. */
async function openMany(url, count, prefix, parallel = 50) {
  const sockets = [];
  for (let i = 0; i < count; i += parallel) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + parallel); j++) batch.push(joined(url, `${prefix}-${Math.floor(j / 2)}`));
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

async function closeAll(sockets) {
  await Promise.all(
    sockets.map((s) => new Promise((resolve) => (s.readyState === WebSocket.CLOSED ? resolve() : (s.once("close", resolve), s.close())))),
  );
}

async function measure(server) {
  const sockets = await openMany(server.url, SOCKETS, `bench-${Date.now()}`);
  const latencies = [];
  for (let i = 1; i < sockets.length; i += 2) {
    sockets[i].on("message", (data, binary) => {
      let payload;
      if (binary) {
        // Kind 4: 0x04, topic, event, meta lengths, encoding, then the strings and the payload.
        const [, topicLength, eventLength, metaLength] = data;
        payload = JSON.parse(data.subarray(5 + topicLength + eventLength + metaLength).toString());
      } else {
        const [, , , event, body] = JSON.parse(data.toString());
        if (event !== "broadcast") return;
        payload = body.payload;
      }
      latencies.push(performance.now() - payload.sent);
    });
  }
  const interval = 1000 / RATE_PER_SECOND;
  const started = performance.now();
  let sent = 0;
  for (let round = 0; round < ROUNDS; round++) {
    for (let i = 0; i < sockets.length; i += 2) {
      const wait = started + sent * interval - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      const payload = { type: "broadcast", event: "typing", payload: { typing: true, sent: performance.now() } };
      sockets[i].send(JSON.stringify(["1", String(sent + 2), sockets[i].topic, "broadcast", payload]));
      sent++;
    }
  }
  await new Promise((r) => setTimeout(r, 2000));
  await closeAll(sockets);
  latencies.sort((a, b) => a - b);
  const pick = (q) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))];
  await new Promise((r) => setTimeout(r, 1000));
  const held = await holdMany(server);
  return { p50: pick(0.5), p99: pick(0.99), delivered: latencies.length, ...held };
}

/** Opens sockets in steps until one fails or HOLD_MAX are open; all stay joined meanwhile. */
async function holdMany(server) {
  const before = rssKiB(server.pid);
  const sockets = [];
  try {
    while (sockets.length < HOLD_MAX) {
      sockets.push(...(await openMany(server.url, HOLD_STEP, `hold-${sockets.length}-${Date.now()}`)));
    }
  } catch (error) {
    console.log(`${server.name}: opening more than ${sockets.length} sockets failed: ${error.message}`);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const perSocket = (rssKiB(server.pid) - before) / Math.max(1, sockets.length);
  await closeAll(sockets);
  return { held: sockets.length, perSocket };
}
