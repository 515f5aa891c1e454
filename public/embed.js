/* Chat widget loader: <script src="https://EDGE/embed.js" data-site="SITE_KEY" async></script>
 * Draws the launcher from the site's settings without loading the widget, then loads the
 * widget (wasm) on the first click or when the browser is idle. Writes no cookie or storage. */
(function (d, w) {
  var s = d.currentScript;
  if (!s || d.getElementById("chat-widget-host")) return;
  var api = (s.getAttribute("data-api") || new URL(s.src).origin).replace(/\/$/, "");
  var site = s.getAttribute("data-site") || "";
  var host = d.createElement("div");
  host.id = "chat-widget-host";
  host.dataset.site = site;
  host.dataset.api = api;
  var root = host.attachShadow({ mode: "open" });
  var loading;
  function load() {
    loading = loading || import(api + "/widget/chat-widget.js")
      .then(function (m) { return m.default({ module_or_path: api + "/widget/chat-widget_bg.wasm" }); })
      .catch(function (e) { console.warn("chat widget failed to load", e); });
    return loading;
  }
  fetch(api + "/v1/sites/" + encodeURIComponent(site) + "/widget")
    .then(function (r) { if (r.status == 404) return null; if (!r.ok) throw r; return r.json(); })
    .then(function (c) {
      if (!c) return console.warn("chat widget: no site has the key " + site);
      if (!c.enabled) return;
      host.dataset.config = JSON.stringify(c);
      var left = c.position == "bottom-left";
      root.innerHTML = '<style>:host{all:initial}#chat-launcher-stub{position:fixed;bottom:20px;' + (left ? "left" : "right") +
        ':20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;color:#fff;background:' +
        c.theme.primary_color + ';box-shadow:0 4px 14px rgba(0,0,0,.2);z-index:2147483000;display:grid;place-items:center}' +
        '#chat-launcher-stub:focus-visible{outline:3px solid #111;outline-offset:2px}</style>' +
        '<button id="chat-launcher-stub" aria-label="Open chat" aria-expanded="false" data-testid="chat-launcher-stub">' +
        '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" ' +
        'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg></button><div id="chat-widget-root"></div>';
      root.getElementById("chat-launcher-stub").onclick = function () {
        host.dataset.open = "1";
        this.setAttribute("aria-busy", "true");
        load();
      };
      (w.requestIdleCallback || function (f) { setTimeout(f, 2000); })(load, { timeout: 4000 });
    })
    .catch(function () {
      // The service is unreachable: the widget shows its quiet "unavailable" state.
      root.innerHTML = '<div id="chat-widget-root"></div>';
      load();
    });
  d.body.appendChild(host);
})(document, window);
