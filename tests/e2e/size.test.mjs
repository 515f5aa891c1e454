// Size budgets of what a customer's visitors download, measured on the built artifacts
// (deterministic, so they are checked here; speed is measured in bench/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { brotliCompressSync, gzipSync, constants } from "node:zlib";

const root = new URL("../../", import.meta.url);
const read = (path) => readFileSync(new URL(path, root));
const brotli = (bytes) => brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length;

test("embed.js stays under 2 KB gzipped", () => {
  const gz = gzipSync(read("target/edge-assets/embed.js"), { level: 9 }).length;
  console.log(`embed.js: ${gz} bytes gzipped (budget 2048)`);
  assert.ok(gz <= 2048, `${gz} > 2048`);
});

test("widget wasm + JS stay under their ceiling (brotli)", () => {
  const wasm = brotli(read("target/edge-assets/widget/chat-widget_bg.wasm"));
  const js = brotli(read("target/edge-assets/widget/chat-widget.js"));
  // The product budget is 100 KB and is NOT met yet (see the open widget issue's notes). This
  // ceiling is today's measured size, so the widget cannot grow while it is brought down.
  const ceiling = 107_000;
  console.log(`widget: wasm ${wasm} + js ${js} = ${wasm + js} bytes brotli (ceiling ${ceiling}, budget 100000)`);
  assert.ok(wasm + js <= ceiling, `${wasm + js} > ${ceiling}`);
});
