/* Chat widget loader: <script src="https://EDGE/embed.js" data-site="SITE_KEY" async></script>
 * Draws the launcher from the site's settings without loading the widget, then loads the
 * widget (wasm) on the first click or when the browser is idle. Writes no cookie or storage.
 * When the service cannot be reached, or the widget cannot load (a Content-Security-Policy
 * without 'wasm-unsafe-eval', say), it shows a muted launcher that says so. Styles are a
 * constructed stylesheet, which a page's CSP does not count as inline style. */
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
    /* WIDGET_BASE is the widget's content-hashed folder, written in by the build (esbuild --define). */
    loading = loading || import(api + WIDGET_BASE + "chat-widget.js")
      .then(function (m) { return m.default({ module_or_path: api + WIDGET_BASE + "chat-widget_bg.wasm" }); })
      .catch(function (e) { console.warn("chat widget failed to load", e); unavailable(host.dataset.open); });
    return loading;
  }
  function style(css) {
    try {
      var sheet = new CSSStyleSheet();
      sheet.replaceSync(css);
      root.adoptedStyleSheets = [sheet];
      return "";
    } catch (e) {
      return "<style>" + css + "</style>";
    }
  }
  /* The muted launcher and its note (shown at once when the visitor already asked for the chat). */
  function unavailable(show) {
    var b = draw("#9ca3af", false, "Chat unavailable", "Chat is unavailable right now. Please try again later.");
    var n = root.getElementById("chat-note");
    b.onclick = function () { n.hidden = !n.hidden; b.setAttribute("aria-expanded", !n.hidden); };
    if (show) b.onclick();
  }
  /* The launcher (and a note for the unavailable state), styled like the widget's own. */
  function draw(color, left, label, note) {
    root.innerHTML = style(':host{all:initial}#chat-launcher-stub{position:fixed;bottom:20px;' + (left ? "left" : "right") +
      ':20px;width:56px;height:56px;border-radius:50%;border:0;cursor:pointer;color:#fff;background:' + color +
      ';box-shadow:0 4px 14px rgba(0,0,0,.2);z-index:2147483000;display:grid;place-items:center}' +
      '#chat-launcher-stub:focus-visible{outline:3px solid #111;outline-offset:2px}#chat-note{position:fixed;bottom:88px;right:20px;' +
      'max-width:260px;margin:0;padding:12px 16px;border-radius:12px;background:#fff;color:#1f2937;font:16px/1.4 system-ui,sans-serif;' +
      'box-shadow:0 10px 30px rgba(0,0,0,.18);z-index:2147483000}') +
      '<button id="chat-launcher-stub" aria-label="' + label + '" aria-expanded="false" data-testid="chat-launcher-stub">' +
      '<svg viewBox="0 0 24 24" width="28" height="28" aria-hidden="true"><path fill="currentColor" ' +
      'd="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8l-4 4V6a2 2 0 0 1 2-2z"/></svg></button>' +
      (note ? '<p id="chat-note" data-testid="chat-unavailable" role="status" hidden>' + note + "</p>" : '<div id="chat-widget-root"></div>');
    return root.getElementById("chat-launcher-stub");
  }
  fetch(api + "/v1/sites/" + encodeURIComponent(site) + "/widget")
    .then(function (r) { if (r.status == 404) return null; if (!r.ok) throw r; return r.json(); })
    .then(function (c) {
      if (!c) return console.warn("chat widget: no site has the key " + site);
      if (!c.enabled) return;
      host.dataset.config = JSON.stringify(c);
      draw(c.theme.primary_color, c.position == "bottom-left", "Open chat").onclick = function () {
        host.dataset.open = "1";
        this.setAttribute("aria-busy", "true");
        load();
      };
      (w.requestIdleCallback || function (f) { setTimeout(f, 2000); })(load, { timeout: 4000 });
    })
    .catch(function () { unavailable(); });
  d.body.appendChild(host);
})(document, window);
