/* A temporary link's page: /c/{short_code}#{token}. Opens a session with the token (once; a
 * reload continues the saved chat), then mounts the widget full-page in a shadow root. Refusals
 * get a page of their own that says what happened. Text is always set as text, never as HTML. */
(function (d, w) {
  var code = decodeURIComponent(location.pathname.split("/").pop() || "");
  var token = location.hash.slice(1);
  var storageKey = "chat-link:" + code;
  var pageKey = storageKey + ":page";
  var main = d.querySelector("main");
  var header = d.querySelector("header");
  var REFUSALS = {
    link_expired: ["This link has expired", "Ask the person who sent it for a new one."],
    link_inactive: ["This link is no longer active", "It was switched off by its owner."],
    link_full: ["This chat is full", "This link has been used as many times as it allows."],
    link_not_found: ["This link does not work", "Check that you copied the whole link."],
    domain_not_allowed: ["This link cannot be opened here", "Open it from the website that shared it."],
    ip_not_allowed: ["This link cannot be opened from your network", "Ask the person who sent it for help."],
  };

  function notice(code, message) {
    var text = REFUSALS[code] || ["The chat is unavailable", message || "Please try again in a moment."];
    header.hidden = true;
    main.textContent = "";
    var box = d.createElement("div");
    box.className = "notice";
    box.setAttribute("role", "alert");
    box.dataset.testid = "link-notice";
    box.dataset.code = code || "unavailable";
    var h = d.createElement("h1");
    h.textContent = text[0];
    var p = d.createElement("p");
    p.textContent = text[1];
    box.append(h, p);
    main.append(box);
    d.title = text[0];
  }

  function mount(page, session) {
    d.title = page.title;
    header.querySelector("h1").textContent = page.title;
    header.querySelector("p").textContent = page.description || "";
    header.hidden = false;
    var host = d.createElement("div");
    host.id = "chat-widget-host";
    host.dataset.api = location.origin;
    host.dataset.config = JSON.stringify(page.widget);
    host.dataset.mode = "page";
    host.dataset.storageKey = storageKey;
    if (session) host.dataset.session = JSON.stringify(session);
    host.attachShadow({ mode: "open" }).innerHTML = '<div id="chat-widget-root"></div>';
    main.append(host);
    /* WIDGET_BASE is the widget's content-hashed folder, written in by the build (esbuild --define). */
    import(WIDGET_BASE + "chat-widget.js")
      .then(function (m) { return m.default({ module_or_path: WIDGET_BASE + "chat-widget_bg.wasm" }); })
      .catch(function () { notice("", "The chat could not be loaded."); });
  }

  var saved = null;
  try { saved = JSON.parse(localStorage.getItem(pageKey) || "null"); } catch (e) { saved = null; }
  if (saved) return mount(saved);
  if (!token) return notice("link_not_found");
  fetch("/v1/links/" + encodeURIComponent(code) + "/sessions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: token, referrer: d.referrer.slice(0, 2000) || null }),
  })
    .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
    .then(function (res) {
      if (!res.ok) return notice(res.body.code, res.body.message);
      var page = { title: res.body.title, description: res.body.description, widget: res.body.widget };
      var kept = true;
      try {
        localStorage.setItem(storageKey, JSON.stringify({ session: res.body.session, outbox: [] }));
        localStorage.setItem(pageKey, JSON.stringify(page));
      } catch (e) {
        kept = false; /* storage refused: hand the session over directly; it lasts until the page closes */
      }
      /* The token has done its job: keep it out of the address bar and the history. */
      history.replaceState(null, "", location.pathname);
      mount(page, kept ? null : res.body.session);
    })
    .catch(function () { notice("", "We can't reach the chat right now. Please try again in a moment."); });
})(document, window);
