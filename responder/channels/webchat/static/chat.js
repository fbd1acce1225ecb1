/* responder web chat: the panel inside the iframe (same origin as the daemon's API).
   Every customer and staff text goes into the page with textContent, never as HTML.
   Replies come by Server-Sent Events (the browser resumes with Last-Event-ID), or by long
   polling when the stream keeps failing (a proxy that buffers or blocks it). Plain
   JavaScript, no framework, no build step. */
(function () {
  "use strict";
  var root = document.documentElement;
  var channel = root.getAttribute("data-channel") || "";
  var parentOrigin = root.getAttribute("data-parent-origin") || "";
  var embedded = window.parent !== window;
  var lang = pickLanguage(root.getAttribute("data-lang"), navigator.language,
    root.getAttribute("data-channel-lang"));
  var TOKEN_KEY = "responder-chat:" + channel;
  var STREAM_FAILURES = 3; // then long polling for the rest of the page's life

  var WORDS = {
    id: {
      close: "Tutup chat", label: "Tulis pesan", placeholder: "Tulis pesan…", send: "Kirim",
      you: "Anda", staff: "Staf", closed: "Sedang tutup", opens: "buka lagi ",
      reconnecting: "Menyambung ulang…", offline: "Tidak tersambung. Mencoba lagi…",
      sending: "Mengirim…", failed: "Tidak terkirim.", retry: "Kirim ulang",
      tooLong: "Pesan terlalu panjang.", tooMany: "Terlalu banyak pesan. Tunggu sebentar…",
      choose: "Pilih jawaban", empty: "Ada pertanyaan? Tulis di sini, kami akan membalas.",
      attach: "Lampirkan gambar atau PDF", tooBig: "File terlalu besar. Paling besar ",
      badType: "Hanya gambar (JPEG, PNG, WebP, GIF) dan PDF yang bisa dikirim.",
      image: "Gambar: ", pdf: "PDF: ",
      emailSaved: "Balasan juga akan dikirim ke "
    },
    en: {
      close: "Close chat", label: "Write a message", placeholder: "Write a message…",
      send: "Send", you: "You", staff: "Staff", closed: "Closed now", opens: "we open ",
      reconnecting: "Reconnecting…", offline: "Not connected. Trying again…",
      sending: "Sending…", failed: "Not sent.", retry: "Send again",
      tooLong: "The message is too long.", tooMany: "Too many messages. Wait a moment…",
      choose: "Choose an answer", empty: "Any question? Write it here and we will reply.",
      attach: "Attach an image or PDF", tooBig: "The file is too big. At most ",
      badType: "Only images (JPEG, PNG, WebP, GIF) and PDF files can be sent.",
      image: "Image: ", pdf: "PDF: ",
      emailSaved: "Replies will also go to "
    }
  };
  var t = WORDS[lang];

  var title = document.getElementById("title");
  var hours = document.getElementById("hours");
  var closeButton = document.getElementById("close");
  var log = document.getElementById("log");
  var statusLine = document.getElementById("status");
  var form = document.getElementById("compose");
  var input = document.getElementById("text");
  var sendButton = document.getElementById("send");
  var attachButton = document.getElementById("attach");
  var fileInput = document.getElementById("file");

  var token = load();
  var fileToken = ""; // for files/<key> links only, a day long (the session's answer)
  var visitor = null;
  var shopName = root.getAttribute("data-title") || "";
  var lastId = null;
  var seen = {};
  var pending = []; // visitor messages shown before the server has confirmed them
  var sent = {}; // event id -> this tab's message, confirmed, until the stream brings it
  var started = false;
  var isOpen = !embedded;
  var unread = 0;
  var source = null;
  var streamFailures = 0;
  var polling = false;
  var pollDelay = 0;
  var inFlight = null;
  var maxFile = 0; // bytes, as the session says (config max_file)

  function pickLanguage(given, browser, fallback) {
    if (given === "id" || given === "en") return given;
    var tag = String(browser || "").toLowerCase().slice(0, 2);
    if (tag === "id" || tag === "in") return "id";
    if (tag === "en") return "en";
    return fallback === "en" ? "en" : "id";
  }

  function load() {
    try { return localStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function save(value) {
    try { localStorage.setItem(TOKEN_KEY, value); } catch (e) { /* kept for this page only */ }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function setStatus(text) {
    statusLine.textContent = text || "";
  }

  function toParent(message) {
    // Only to the embedding page, and only when the daemon vouched for its origin.
    if (embedded && parentOrigin) window.parent.postMessage(message, parentOrigin);
  }

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 256).toString(16).slice(1);
    }).join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)]
      .join("-");
  }

  function clock(at) {
    var when = at ? new Date(at) : new Date();
    if (isNaN(when.getTime())) return "";
    try {
      return new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" }).format(when);
    } catch (e) { return ""; }
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function who(event) {
    if (event.from === "visitor") return t.you;
    if (event.from === "staff") return event.name ? String(event.name) : t.staff;
    return shopName || t.staff;
  }

  // One message in the list: the sender and time, then the text, as text.
  function item(from, sender, at, text) {
    var side = from === "visitor" || from === "staff" ? from : "shop";
    var li = el("li", "msg msg-" + side);
    var meta = el("p", "meta");
    meta.appendChild(el("span", "who", sender));
    var time = clock(at);
    if (time) meta.appendChild(el("span", "time", time));
    li.appendChild(meta);
    li.appendChild(el("p", "text", text));
    return li;
  }

  function buttons(li, rows) {
    var group = el("div", "choices");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t.choose);
    rows.forEach(function (row) {
      if (!Array.isArray(row)) return;
      var line = el("div", "choice-row");
      row.forEach(function (spec) {
        if (!spec || typeof spec.label !== "string" || typeof spec.data !== "string") return;
        var b = el("button", "choice", spec.label);
        b.type = "button";
        b.addEventListener("click", function () {
          Array.prototype.forEach.call(group.querySelectorAll("button"), function (x) {
            x.disabled = true;
          });
          b.setAttribute("aria-pressed", "true");
          send(spec.label, spec.data);
          input.focus();
        });
        line.appendChild(b);
      });
      group.appendChild(line);
    });
    li.appendChild(group);
  }

  function claim(event) {
    for (var i = 0; i < pending.length; i++) {
      var p = pending[i];
      var same = event.client_id ? event.client_id === p.clientId : !p.id && event.text === p.text;
      if (same) {
        pending.splice(i, 1);
        return p;
      }
    }
    return null;
  }

  // The offline form (offline.js) follows the conversation through these.
  function announce(name, detail) {
    document.dispatchEvent(new CustomEvent("responder:" + name, { detail: detail }));
  }

  function render(event, fromServer) {
    if (!event || typeof event.id !== "string") return;
    if (fromServer) lastId = event.id;
    // Every time, seen or not (this tab's own message is seen once its POST is answered):
    // what listens keeps state, not counts.
    announce("event", event);
    if (event.from === "visitor") {
      // This tab's own message, shown while it was sent: the server's time is the one kept.
      var mine = sent[event.id] || (!seen[event.id] && claim(event));
      if (mine) {
        if (mine.file && event.file) mine.showFile(event.file);
        mine.confirm(event.id);
        mine.settle(event.at);
        delete sent[event.id];
        return;
      }
    }
    if (seen[event.id]) return;
    seen[event.id] = true;
    var text = typeof event.text === "string" ? event.text : "";
    if (event.kind === "email" && typeof event.email === "string") text = t.emailSaved + event.email;
    var li = item(event.from, who(event), event.at, text);
    // A canned answer may carry several files (issue 18): `files` lists them all.
    var files = Array.isArray(event.files) ? event.files : event.file ? [event.file] : [];
    files.forEach(function (file) { showFile(li, file); });
    if (event.kind) li.setAttribute("data-kind", String(event.kind));
    li.setAttribute("data-id", event.id);
    if (Array.isArray(event.buttons) && event.buttons.length) buttons(li, event.buttons);
    removeEmpty();
    log.appendChild(li);
    scrollDown();
    if (event.from !== "visitor" && !isOpen) {
      unread += 1;
      toParent({ type: "responder:unread", count: unread });
    }
  }

  function removeEmpty() {
    var hint = log.querySelector(".empty");
    if (hint) log.removeChild(hint);
  }

  function showEmpty() {
    if (!log.children.length) log.appendChild(el("li", "empty", t.empty));
  }

  // A visitor message shown at once, confirmed by the server's 202 or the stream.
  function Pending(text, press, clientId) {
    var self = this;
    this.text = text;
    this.press = press;
    this.clientId = clientId;
    this.id = null;
    this.li = item("visitor", t.you, null, text);
    this.li.classList.add("pending");
    this.li.setAttribute("data-kind", "message"); // as the server calls a visitor's message
    this.note = el("p", "note", t.sending);
    this.li.appendChild(this.note);
    removeEmpty();
    log.appendChild(this.li);
    scrollDown();
    this.confirm = function (id) {
      var at = pending.indexOf(self);
      if (at >= 0) pending.splice(at, 1);
      if (self.id === null) sent[id] = self;
      self.id = id;
      seen[id] = true;
      self.li.setAttribute("data-id", id);
      self.li.classList.remove("pending", "failed");
      if (self.note.parentNode) self.li.removeChild(self.note);
    };
    this.settle = function (at) {
      var time = self.li.querySelector(".time");
      var shown = clock(at);
      if (time && shown) time.textContent = shown;
    };
    this.fail = function (why, canRetry) {
      self.li.classList.remove("pending");
      self.li.classList.add("failed");
      self.note.textContent = why + " ";
      if (canRetry) {
        var again = el("button", "retry", t.retry);
        again.type = "button";
        again.addEventListener("click", function () {
          self.note.textContent = t.sending;
          self.li.classList.remove("failed");
          self.li.classList.add("pending");
          (self.file ? deliverFile : deliver)(self, false);
        });
        self.note.appendChild(again);
      }
    };
  }

  // A button's press carries its data beside the label the visitor sees (and history keeps).
  function send(text, press) {
    var p = new Pending(text, press || null, uuid());
    pending.push(p);
    announce("event", { from: "visitor", kind: "message", text: text });
    deliver(p, false);
  }

  function deliver(p, renewed) {
    var ready = token ? Promise.resolve() : session();
    ready.then(function () {
      return fetch("messages", {
        method: "POST",
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
        body: JSON.stringify(p.press
          ? { text: p.text, press: p.press, client_id: p.clientId, language: lang }
          : { text: p.text, client_id: p.clientId, language: lang })
      });
    }).then(function (response) {
      if (response.status === 202) {
        return response.json().then(function (body) {
          if (body && typeof body.id === "string") p.confirm(body.id);
          else p.confirm("local-" + p.clientId);
          setStatus("");
        });
      }
      if (response.status === 401 && !renewed) {
        return session().then(function () { deliver(p, true); });
      }
      if (response.status === 413) return p.fail(t.tooLong, false);
      if (response.status === 429) {
        var wait = parseInt(response.headers.get("Retry-After") || "5", 10);
        setStatus(t.tooMany);
        setTimeout(function () { deliver(p, renewed); }, Math.min(Math.max(wait, 1), 120) * 1000);
        return undefined;
      }
      p.fail(t.failed, response.status >= 500 || response.status === 401);
      return undefined;
    }).catch(function () {
      p.fail(t.failed, true);
    });
  }

  // A file of the conversation: an image as a thumbnail, a PDF as a link with its name. The
  // URL carries the token (an <img> sends no header); the name goes in as text only.
  function fileUrl(key) {
    return "files/" + encodeURIComponent(key) + "?token=" + encodeURIComponent(fileToken || "");
  }

  function showFile(li, file) {
    if (!file || typeof file.key !== "string") return;
    var shown = li.querySelectorAll(".file");
    for (var i = 0; i < shown.length; i++) if (shown[i].getAttribute("data-key") === file.key) return;
    var name = typeof file.name === "string" ? file.name : "file";
    var image = /^image\//.test(String(file.mime));
    var link = el("a", "file " + (image ? "file-image" : "file-doc"));
    link.href = fileUrl(file.key);
    link.setAttribute("data-key", file.key);
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    if (image) {
      var img = el("img", "thumb");
      img.alt = t.image + name;
      img.src = link.href;
      img.addEventListener("load", scrollDown);
      link.appendChild(img);
    } else {
      link.setAttribute("download", name);
      link.appendChild(el("span", "file-kind", "PDF"));
      link.appendChild(document.createTextNode(" " + name));
      link.setAttribute("aria-label", t.pdf + name);
    }
    var text = li.querySelector(".text");
    if (text && !text.textContent) li.removeChild(text);
    li.appendChild(link);
  }

  function size(bytes) {
    return bytes >= 1048576 ? Math.round(bytes / 104857.6) / 10 + " MB"
      : Math.round(bytes / 1024) + " KB";
  }

  // A chosen file: shown at once by its name, uploaded with what was typed as its words.
  function sendFile(file) {
    var caption = input.value.replace(/^\s+|\s+$/g, "");
    input.value = "";
    grow();
    var p = new Pending(caption || file.name, null, uuid());
    p.caption = caption;
    p.file = file;
    p.showFile = function (spec) {
      var words = p.li.querySelector(".text");
      if (!p.caption && words) words.textContent = ""; // the file stands for itself
      showFile(p.li, spec);
    };
    pending.push(p);
    if (maxFile && file.size > maxFile) {
      p.fail(t.tooBig + size(maxFile) + ".", false);
      return;
    }
    deliverFile(p, false);
  }

  function deliverFile(p, renewed) {
    var ready = token ? Promise.resolve() : session();
    ready.then(function () {
      var args = "?client_id=" + encodeURIComponent(p.clientId) +
        "&name=" + encodeURIComponent(p.file.name) +
        "&text=" + encodeURIComponent(p.caption) + "&language=" + lang;
      return fetch("files" + args, {
        method: "POST",
        headers: {
          "Content-Type": p.file.type || "application/octet-stream",
          "Authorization": "Bearer " + token
        },
        body: p.file
      });
    }).then(function (response) {
      if (response.status === 202) {
        return response.json().then(function (body) {
          p.showFile({ key: "v" + p.clientId, name: p.file.name, mime: p.file.type });
          p.confirm(body && typeof body.id === "string" ? body.id : "local-" + p.clientId);
          setStatus("");
        });
      }
      if (response.status === 401 && !renewed) {
        return session().then(function () { deliverFile(p, true); });
      }
      if (response.status === 413) return p.fail(t.tooBig + size(maxFile) + ".", false);
      if (response.status === 415) return p.fail(t.badType, false);
      if (response.status === 429) {
        var wait = parseInt(response.headers.get("Retry-After") || "5", 10);
        setStatus(t.tooMany);
        setTimeout(function () { deliverFile(p, renewed); },
          Math.min(Math.max(wait, 1), 120) * 1000);
        return undefined;
      }
      p.fail(t.failed, response.status >= 500 || response.status === 401);
      return undefined;
    }).catch(function () {
      p.fail(t.failed, true);
    });
  }

  function showHours(info) {
    if (info.open === false && info.opens) {
      // "Senin, 24 November pukul 08.00 WIB": as the out-of-hours reply words it.
      hours.textContent = t.closed + " · " + t.opens + info.opens;
      hours.hidden = false;
    } else if (info.open === false) {
      hours.textContent = t.closed;
      hours.hidden = false;
    } else {
      hours.hidden = true;
      hours.textContent = "";
    }
  }

  // POST session: keeps this browser's visitor (or starts one) and brings the history.
  // One call at a time: a message typed while the first is under way must not start a
  // second visitor.
  function session() {
    if (!inFlight) {
      inFlight = newSession();
      inFlight.then(done, done);
    }
    return inFlight;
  }

  function done() { inFlight = null; }

  function newSession() {
    return fetch("session", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token || null, language: lang })
    }).then(function (response) {
      if (!response.ok) throw new Error("session " + response.status);
      return response.json();
    }).then(function (info) {
      if (visitor !== null && info.visitor !== visitor) {
        // Another visitor now (the old token expired): its conversation only.
        log.textContent = "";
        seen = {};
        sent = {};
        lastId = null;
      }
      visitor = info.visitor;
      token = info.token;
      fileToken = info.file_token || "";
      save(token);
      if (typeof info.title === "string" && info.title) {
        shopName = info.title;
        title.textContent = info.title;
        document.title = info.title;
      }
      showHours(info);
      if (typeof info.max_file === "number") maxFile = info.max_file;
      (info.history || []).forEach(function (event) { render(event, true); });
      if (info.last_event_id) lastId = info.last_event_id;
      showEmpty();
      announce("session", info);
    });
  }

  // POST path with the visitor's token (a session first if there is none): offline.js.
  function post(path, body) {
    var ready = token ? Promise.resolve() : session();
    return ready.then(function () {
      return fetch(path, {
        method: "POST",
        headers: { "Content-Type": "application/json", "Authorization": "Bearer " + token },
        body: JSON.stringify(body)
      });
    });
  }
  window.responderPanel = { lang: lang, post: post, uuid: uuid, scrollDown: scrollDown };

  function query() {
    var after = lastId ? "&after=" + encodeURIComponent(lastId) : "";
    return "?token=" + encodeURIComponent(token) + after;
  }

  function onEvent(message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    render(event, true);
  }

  function stream() {
    if (polling) return;
    if (typeof EventSource === "undefined" || streamFailures >= STREAM_FAILURES) { poll(); return; }
    var es = new EventSource("events" + query());
    source = es;
    es.onmessage = onEvent;
    es.onopen = function () { streamFailures = 0; setStatus(""); };
    es.onerror = function () {
      if (source !== es) return;
      streamFailures += 1;
      setStatus(t.reconnecting);
      // CONNECTING: the browser retries by itself, sending Last-Event-ID. CLOSED: it gave
      // up (an error status such as an expired token); renew the session, then reconnect.
      if (es.readyState === EventSource.CLOSED || streamFailures >= STREAM_FAILURES) {
        es.close();
        source = null;
        if (streamFailures >= STREAM_FAILURES) { poll(); return; }
        setTimeout(function () {
          session().then(stream, function () { setTimeout(stream, 3000); });
        }, 1000 * streamFailures);
      }
    };
  }

  function poll() {
    polling = true;
    fetch("poll" + query(), { cache: "no-store" }).then(function (response) {
      if (response.status === 401) return session().then(function () { return { events: [] }; });
      if (!response.ok) throw new Error("poll " + response.status);
      return response.json();
    }).then(function (body) {
      pollDelay = 0;
      setStatus("");
      var events = body && Array.isArray(body.events) ? body.events : [];
      events.forEach(function (e) { render(e, true); });
      setTimeout(poll, 0);
    }).catch(function () {
      pollDelay = Math.min(pollDelay ? pollDelay * 2 : 1000, 30000);
      setStatus(t.offline);
      setTimeout(poll, pollDelay);
    });
  }

  function start() {
    if (started) return;
    started = true;
    session().then(stream, function () {
      started = false;
      setStatus(t.offline);
      setTimeout(start, 5000);
    });
  }

  function open() {
    isOpen = true;
    unread = 0;
    toParent({ type: "responder:unread", count: 0 });
    start();
    input.focus();
    scrollDown();
  }

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
  }

  // Wording and labels, in the visitor's language.
  root.lang = lang;
  closeButton.setAttribute("aria-label", t.close);
  closeButton.title = t.close;
  document.getElementById("text-label").textContent = t.label;
  input.placeholder = t.placeholder;
  sendButton.textContent = t.send;
  attachButton.setAttribute("aria-label", t.attach);
  attachButton.title = t.attach;
  if (embedded) closeButton.hidden = false;

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.replace(/^\s+|\s+$/g, "");
    if (!text) return;
    input.value = "";
    grow();
    send(text);
    input.focus();
  });
  input.addEventListener("keydown", function (e) {
    // Enter sends; Shift+Enter starts a new line; not while an IME is composing.
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      if (form.requestSubmit) form.requestSubmit();
      else form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  input.addEventListener("input", grow);
  // A real <button>: Enter and Space open the file chooser, as a click does.
  attachButton.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var chosen = fileInput.files && fileInput.files[0];
    fileInput.value = "";
    if (chosen) sendFile(chosen);
    input.focus();
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && embedded) toParent({ type: "responder:close" });
  });
  closeButton.addEventListener("click", function () { toParent({ type: "responder:close" }); });

  window.addEventListener("message", function (event) {
    if (!embedded || event.source !== window.parent || event.origin !== parentOrigin) return;
    var data = event.data;
    if (!data || typeof data.type !== "string") return;
    if (data.type === "responder:open") open();
    else if (data.type === "responder:closed") isOpen = false;
  });

  if (!embedded) {
    open();
  } else {
    // A returning visitor's conversation connects at once, so a reply lights the badge.
    if (token) start();
    toParent({ type: "responder:ready" });
  }
})();
