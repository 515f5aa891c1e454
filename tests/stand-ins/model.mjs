// A stand-in for a language model provider: the OpenAI-compatible Chat Completions endpoint
// (`POST /v1/chat/completions`, streamed as server-sent events), the one external service the
// tests cannot run. Everything else in the tests is real. It answers by script, from markers in
// the last user message:
//
//   (none)      a short answer in a few chunks: the first article's first sentence, cited [1]
//   [pieces]    the answer in eight chunks, 300 ms apart (the widget sees it form)
//   [hold]      waits 2 s before the first chunk (a takeover can race the answer)
//   [slow]      one chunk, then silence for 60 s (longer than any timeout)
//   [error]     HTTP 500 with an OpenAI error body
//   [cut]       a chunk, then the connection ends without a finish (a broken stream)
//   [handoff]   a sentence, then a handoff_to_human tool call
//
// Every request is recorded: `GET /requests` lists them (path, authorization, body), `DELETE
// /requests` forgets them. A request whose bearer key is not the expected one (`--key`, for
// `/v1`; `--site-key` for `/site/v1`, a site's own provider) is refused with 401, as providers do.
//
// Usage: node tests/stand-ins/model.mjs --port 11444 [--key K] [--site-key S]

import http from "node:http";

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, arg, i, all) => (arg.startsWith("--") ? [...pairs, [arg.slice(2), all[i + 1]]] : pairs), []),
);
const port = Number(args.port ?? 11444);
const keys = { "/v1": args.key, "/site/v1": args["site-key"] };
const requests = [];

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function chunk(model, delta, finish = null) {
  return `data: ${JSON.stringify({
    id: "chatcmpl-standin",
    object: "chat.completion.chunk",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
  })}\n\n`;
}

function usage(model, body, text) {
  const prompt = body.messages.map((m) => m.content ?? "").join(" ");
  return `data: ${JSON.stringify({
    id: "chatcmpl-standin",
    object: "chat.completion.chunk",
    model,
    choices: [],
    usage: { prompt_tokens: Math.ceil(prompt.length / 4), completion_tokens: text.split(/\s+/).filter(Boolean).length },
  })}\n\n`;
}

function answerFor(body) {
  const system = body.messages.find((m) => m.role === "system")?.content ?? "";
  // The first article (`[1] Title` and its text on the next line), quoted as a model would.
  const article = system.match(/^\[1\] (.+)\n(.+)$/m);
  return article
    ? `${article[1]}: ${article[2].split(/(?<=[.!?])\s/)[0]} [1]`
    : "I'm the stand-in model. I have no article about that, but I'm happy to help.";
}

async function complete(response, body) {
  const last = [...body.messages].reverse().find((m) => m.role === "user")?.content ?? "";
  const model = body.model;
  if (last.includes("[error]")) {
    response.writeHead(500, { "content-type": "application/json" });
    return response.end(JSON.stringify({ error: { message: "The model is overloaded.", type: "server_error" } }));
  }
  response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const send = (text) => response.write(text);
  send(chunk(model, { role: "assistant", content: "" }));
  if (last.includes("[hold]")) await sleep(2000);
  if (last.includes("[slow]")) {
    send(chunk(model, { content: "Let me think" }));
    await sleep(60000);
    return response.end();
  }
  if (last.includes("[cut]")) {
    send(chunk(model, { content: "Half an ans" }));
    return response.end();
  }
  if (last.includes("[handoff]")) {
    const text = "Of course, let me find a person for you.";
    send(chunk(model, { content: text }));
    send(chunk(model, { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "handoff_to_human", arguments: "" } }] }));
    send(chunk(model, { tool_calls: [{ index: 0, function: { arguments: '{"reason": "the visitor asked for a person"}' } }] }));
    send(chunk(model, {}, "tool_calls"));
    send(usage(model, body, text));
    send("data: [DONE]\n\n");
    return response.end();
  }
  const text = answerFor(body);
  const words = text.split(/(?<= )/);
  const pieces = last.includes("[pieces]") ? 8 : 3;
  const size = Math.ceil(words.length / pieces);
  for (let i = 0; i < words.length; i += size) {
    send(chunk(model, { content: words.slice(i, i + size).join("") }));
    await sleep(last.includes("[pieces]") ? 300 : 20);
  }
  send(chunk(model, {}, "stop"));
  send(usage(model, body, text));
  send("data: [DONE]\n\n");
  response.end();
}

const server = http.createServer(async (request, response) => {
  const url = new URL(request.url, "http://localhost");
  if (url.pathname === "/health") return response.end("ok");
  if (url.pathname === "/requests") {
    if (request.method === "DELETE") requests.length = 0;
    response.writeHead(200, { "content-type": "application/json" });
    return response.end(JSON.stringify(requests));
  }
  const prefix = url.pathname.replace(/\/chat\/completions$/, "");
  if (request.method !== "POST" || !(prefix in keys) || prefix === url.pathname) {
    response.writeHead(404, { "content-type": "application/json" });
    return response.end(JSON.stringify({ error: { message: `no route ${request.method} ${url.pathname}` } }));
  }
  let raw = "";
  for await (const part of request) raw += part;
  const authorization = request.headers.authorization ?? null;
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    response.writeHead(400, { "content-type": "application/json" });
    return response.end(JSON.stringify({ error: { message: "the body is not JSON" } }));
  }
  requests.push({ path: url.pathname, authorization, body });
  if (keys[prefix] && authorization !== `Bearer ${keys[prefix]}`) {
    response.writeHead(401, { "content-type": "application/json" });
    return response.end(JSON.stringify({ error: { message: "Incorrect API key provided.", type: "invalid_request_error" } }));
  }
  await complete(response, body);
});

server.listen(port, "127.0.0.1", () => console.log(`model stand-in on http://127.0.0.1:${port}/v1`));
