// Size budgets of what a customer's visitors download, measured on the built artifacts
// (deterministic, so they are checked here; speed is measured in bench/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root));
// The build puts the widget in one content-hashed folder.
const [widgetDir] = readdirSync(new URL("target/edge-assets/widget/", root));
const brotli = (bytes) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

test("embed.js stays under 2 KB gzipped", () => {
  const gz = gzipSync(read("target/edge-assets/embed.js"), { level: 9 }).length;
  console.log(`embed.js: ${gz} bytes gzipped (budget 2048)`);
  assert.ok(gz <= 2048, `${gz} > 2048`);
});

test("widget wasm + JS stay under 100 KB brotli", () => {
  const wasm = brotli(read(`target/edge-assets/widget/${widgetDir}/chat-widget_bg.wasm`));
  const js = brotli(read(`target/edge-assets/widget/${widgetDir}/chat-widget.js`));
  console.log(`widget: wasm ${wasm} + js ${js} = ${wasm + js} bytes brotli (budget 100000)`);
  assert.ok(wasm + js <= 100_000, `${wasm + js} > 100000`);
});

// The console's budget: peers' dashboards load about 1.5 MB; ours is a fraction of that. The
// operator desk (actions, customer pane, alerts, shortcuts dialog) measured 334 KB; with the
// owners' site, widget (live preview), team and links sections 473 KB; with knowledge 493 KB;
// with analytics (its charts drawn by plotters into SVG, chrono's dates) 554 KB.
const CONSOLE_BUDGET = 600_000;

test(`console wasm + JS + CSS stay under ${CONSOLE_BUDGET} bytes brotli`, () => {
  const dir = "target/edge-assets/console/";
  const files = readdirSync(new URL(dir, root)).filter((f) => /\.(wasm|js|css)$/.test(f));
  assert.deepEqual(files.map((f) => f.split(".").pop()).sort(), ["css", "js", "wasm"], `${files}`);
  const total = files.reduce((sum, f) => sum + brotli(read(dir + f)), 0);
  console.log(`console: ${total} bytes brotli (budget ${CONSOLE_BUDGET})`);
  assert.ok(total <= CONSOLE_BUDGET, `${total} > ${CONSOLE_BUDGET}`);
});
