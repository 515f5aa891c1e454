/* Chat widget loader. Add to any page:
 *   <script src="https://EDGE/embed.js" data-site="SITE_KEY" async></script>
 * Optional data-api (defaults to this script's origin). Creates one host element with an
 * open shadow root (so page CSS cannot leak in), then loads the widget's wasm into it. */
(function () {
  var script = document.currentScript;
  if (!script || document.getElementById("chat-widget-host")) return;
  var api = (script.getAttribute("data-api") || new URL(script.src).origin).replace(/\/$/, "");
  var host = document.createElement("div");
  host.id = "chat-widget-host";
  host.setAttribute("data-site", script.getAttribute("data-site") || "");
  host.setAttribute("data-api", api);
  var root = host.attachShadow({ mode: "open" });
  var mount = document.createElement("div");
  mount.id = "chat-widget-root";
  root.appendChild(mount);
  document.body.appendChild(host);
  import(api + "/widget/chat-widget.js")
    .then(function (m) { return m.default({ module_or_path: api + "/widget/chat-widget_bg.wasm" }); })
    .catch(function (e) { console.warn("chat widget failed to load", e); });
})();
