/* The console's widget preview (/preview.html in a same-origin frame). The console posts
 * {type: "chat-preview", mode: "float" | "page", config} on every change; this page mounts a
 * fresh instance of the real widget with it, panel open, and retires the previous one once the
 * new one is drawn. It starts no chat: the widget's calls are answered here with a refusal
 * that says so, and it keeps nothing in storage.
 *
 * Depends on the widget's wasm-bindgen glue: each import of chat-widget.js under a new query is
 * a new module whose init takes the compiled WebAssembly.Module (compiled once here) and runs
 * main, which mounts into #chat-widget-host. Timers of a retired instance are cleared so that
 * nothing keeps it alive. body[data-busy] says whether a mount is under way (tests wait for
 * "0"). tests/e2e/owner.test.mjs fails if the preview stops following edits. */
(function (d, w) {
  var STORAGE_KEY = "chat-preview";
  var compiled = WebAssembly.compileStreaming(fetch(WIDGET_BASE + "chat-widget_bg.wasm"));
  var generation = 0;
  var timers = {};
  var latest = null;
  var busy = false;

  /* The widget starts no session from here. */
  w.fetch = function () {
    var refusal = { code: "forbidden", message: "This is a preview: it does not start chats." };
    return Promise.resolve(new Response(JSON.stringify(refusal), { status: 403, headers: { "content-type": "application/json" } }));
  };
  /* Timers by the generation that set them, so a retired widget's can be cleared. */
  ["setTimeout", "setInterval"].forEach(function (name) {
    var original = w[name].bind(w);
    w[name] = function () {
      var id = original.apply(null, arguments);
      (timers[generation] = timers[generation] || []).push(id);
      return id;
    };
  });

  /* The widget moves focus into its panel when it opens; here that would take it from the
   * console's field being typed in. */
  w.HTMLElement.prototype.focus = function () {};

  function retire(old) {
    (timers[old] || []).forEach(function (id) { clearTimeout(id); clearInterval(id); });
    delete timers[old];
    var host = d.getElementById("chat-widget-old-" + old);
    if (host) host.remove();
  }

  /* One mount at a time (main finds its host by id); the last message wins. */
  function mount() {
    var message = latest;
    latest = null;
    busy = true;
    d.body.dataset.busy = "1";
    var previous = generation;
    var current = d.getElementById("chat-widget-host");
    if (current) current.id = "chat-widget-old-" + previous;
    generation += 1;
    var host = d.createElement("div");
    host.id = "chat-widget-host";
    host.hidden = true;
    host.dataset.api = location.origin;
    host.dataset.config = JSON.stringify(message.config);
    host.dataset.open = "1";
    host.dataset.storageKey = STORAGE_KEY;
    if (message.mode === "page") host.dataset.mode = "page";
    host.attachShadow({ mode: "open" }).innerHTML = '<div id="chat-widget-root"></div>';
    d.body.append(host);
    try { localStorage.removeItem(STORAGE_KEY); } catch (e) { /* storage blocked: nothing was kept either */ }
    var mine = generation;
    compiled
      .then(function (module) { return import(WIDGET_BASE + "chat-widget.js?preview=" + mine).then(function (glue) { return glue.default({ module_or_path: module }); }); })
      .catch(function (e) { console.warn("widget preview failed", e); })
      .then(function () {
        retire(previous);
        host.hidden = false;
        d.body.dataset.shown = String(mine);
        busy = false;
        if (latest) mount();
        else d.body.dataset.busy = "0";
      });
  }

  w.addEventListener("message", function (event) {
    if (event.origin !== location.origin || event.source !== w.parent || typeof event.data !== "string") return;
    var message;
    try { message = JSON.parse(event.data); } catch (e) { return; }
    if (!message || message.type !== "chat-preview" || !message.config) return;
    latest = message;
    if (!busy) mount();
  });
})(document, window);
