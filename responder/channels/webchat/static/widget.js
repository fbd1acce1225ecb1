/* responder web chat: the loader the shop's page includes with one <script> line.
   It adds a launcher button and the chat panel (an iframe served by the daemon, so the
   shop's CSS cannot reach it) and talks to the panel by postMessage, origin-checked both
   ways. Plain JavaScript, no framework, no build step. Styles are set through the CSSOM
   (element.style), which a shop's Content-Security-Policy without 'unsafe-inline' allows. */
(function () {
  "use strict";
  // Filled in by the daemon when it serves this file: base URL, asset version, origin,
  // the channel's language.
  var CONFIG = /*RESPONDER_CONFIG*/ null;
  if (!CONFIG) return;
  var registry = (window.__responderChat = window.__responderChat || {});
  if (registry[CONFIG.channel]) return; // the line pasted twice: one widget
  registry[CONFIG.channel] = true;

  var lang = pickLanguage(navigator.language, CONFIG.language);
  var WORDS = {
    id: { open: "Buka chat", close: "Tutup chat", launcher: "Chat", panel: "Chat dengan kami",
          unread: function (n) { return n + " pesan belum dibaca"; } },
    en: { open: "Open chat", close: "Close chat", launcher: "Chat", panel: "Chat with us",
          unread: function (n) { return n + " unread messages"; } }
  };
  var words = WORDS[lang];
  var OPEN_KEY = "responder-chat-open:" + CONFIG.channel;
  var isOpen = false;
  var unread = 0;
  var frameReady = false;

  function pickLanguage(browser, fallback) {
    var tag = String(browser || "").toLowerCase();
    if (tag.slice(0, 2) === "id" || tag.slice(0, 2) === "in") return "id";
    if (tag.slice(0, 2) === "en") return "en";
    return fallback === "en" ? "en" : "id";
  }

  function css(el, props) {
    for (var k in props) if (Object.prototype.hasOwnProperty.call(props, k)) el.style[k] = props[k];
    return el;
  }

  var host = document.createElement("div");
  host.setAttribute("data-responder-chat", CONFIG.channel);
  // A shadow root keeps the shop's stylesheet rules off the launcher button.
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;

  var button = css(document.createElement("button"), {
    position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000",
    minWidth: "64px", height: "56px", padding: "0 20px", border: "0", borderRadius: "28px",
    background: "#0b6e4f", color: "#fff", font: "600 16px/1 system-ui, sans-serif",
    cursor: "pointer", boxShadow: "0 4px 14px rgba(0,0,0,.25)"
  });
  button.type = "button";
  button.id = "responder-chat-launcher";
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "responder-chat-panel");
  var buttonLabel = document.createElement("span");
  buttonLabel.textContent = words.launcher;
  var badge = css(document.createElement("span"), {
    display: "none", marginLeft: "8px", minWidth: "20px", height: "20px", padding: "0 6px",
    borderRadius: "10px", background: "#d93025", color: "#fff",
    font: "700 12px/20px system-ui, sans-serif",
    boxSizing: "border-box"
  });
  badge.className = "badge";
  button.appendChild(buttonLabel);
  button.appendChild(badge);

  var panel = css(document.createElement("div"), {
    position: "fixed", right: "16px", bottom: "84px", zIndex: "2147483000",
    width: "min(380px, calc(100vw - 32px))", height: "min(580px, calc(100vh - 100px))",
    borderRadius: "12px", overflow: "hidden", boxShadow: "0 8px 30px rgba(0,0,0,.3)",
    background: "#fff", display: "none"
  });
  panel.id = "responder-chat-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", words.panel);

  var frame = css(document.createElement("iframe"), {
    width: "100%", height: "100%", border: "0", display: "block"
  });
  frame.title = words.panel;
  frame.src = CONFIG.base + "frame?v=" + encodeURIComponent(CONFIG.version) +
    "&lang=" + lang + "&origin=" + encodeURIComponent(location.origin);
  panel.appendChild(frame);
  root.appendChild(panel);
  root.appendChild(button);

  function post(message) {
    // Only to the daemon's origin: nothing reaches a page the frame was navigated to.
    if (frame.contentWindow) frame.contentWindow.postMessage(message, CONFIG.origin);
  }

  function showBadge() {
    badge.textContent = unread > 99 ? "99+" : String(unread);
    badge.style.display = unread > 0 && !isOpen ? "inline-block" : "none";
    button.setAttribute("aria-label", unread > 0 && !isOpen
      ? (isOpen ? words.close : words.open) + ", " + words.unread(unread)
      : (isOpen ? words.close : words.open));
  }

  function remember(open) {
    try {
      if (open) sessionStorage.setItem(OPEN_KEY, "1"); else sessionStorage.removeItem(OPEN_KEY);
    } catch (e) { /* storage blocked: the panel just starts closed */ }
  }

  function setOpen(open, focusLauncher) {
    isOpen = open;
    panel.style.display = open ? "block" : "none";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) unread = 0;
    showBadge();
    remember(open);
    if (open) {
      if (frameReady) post({ type: "responder:open" });
      frame.focus();
    } else {
      post({ type: "responder:closed" });
      if (focusLauncher) button.focus();
    }
  }

  button.addEventListener("click", function () { setOpen(!isOpen, false); });

  window.addEventListener("message", function (event) {
    if (event.origin !== CONFIG.origin || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data.type !== "string") return;
    if (data.type === "responder:ready") {
      frameReady = true;
      if (isOpen) post({ type: "responder:open" });
    } else if (data.type === "responder:close") {
      setOpen(false, true);
    } else if (data.type === "responder:unread" && typeof data.count === "number") {
      unread = isOpen ? 0 : Math.max(0, Math.floor(data.count));
      showBadge();
    }
  });

  function mount() {
    document.body.appendChild(host);
    showBadge();
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(OPEN_KEY) === "1"; } catch (e) { /* blocked */ }
    if (wasOpen) setOpen(true, false);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
