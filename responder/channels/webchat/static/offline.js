/* responder web chat: the offline form (issue 17). When the shop is closed, or no staff
   reply has come some minutes after the visitor's message, the panel asks for an email
   address; staff answers then go there too, on the same ticket. chat.js announces the
   session and each event; this file only shows the form and posts the address. */
(function () {
  "use strict";
  var panel = window.responderPanel;
  var form = document.getElementById("offline");
  if (!panel || !form) return;

  var WORDS = {
    id: {
      later: "Belum ada staf yang bisa membalas sekarang. Tinggalkan email Anda, balasan " +
        "kami akan dikirim ke sana juga.",
      closed: "Kami sedang tutup. Tinggalkan email Anda, balasan kami akan dikirim ke sana.",
      label: "Email Anda", save: "Simpan", dismiss: "Nanti saja",
      bad: "Alamat email belum benar.", failed: "Belum tersimpan. Coba lagi."
    },
    en: {
      later: "Nobody can answer right now. Leave your email and our reply will go there too.",
      closed: "We are closed now. Leave your email and our reply will go there.",
      label: "Your email", save: "Save", dismiss: "Not now",
      bad: "That email address does not look right.", failed: "Not saved. Try again."
    }
  };
  var t = WORDS[panel.lang] || WORDS.en;
  var says = document.getElementById("offline-text");
  var field = document.getElementById("email");
  var error = document.getElementById("offline-error");
  var save = document.getElementById("email-save");
  var dismiss = document.getElementById("email-dismiss");

  var askAfter = null; // seconds; null: this chat does not answer by email
  var shopOpen = true;
  var left = false; // an address is on the ticket already
  var waitingSince = null; // the visitor's first unanswered message, ms
  var dismissed = false;
  var timer = null;

  function show(closed) {
    says.textContent = closed ? t.closed : t.later;
    if (form.hidden) {
      form.hidden = false;
      panel.scrollDown();
    }
  }

  function hide() { form.hidden = true; error.textContent = ""; }

  function consider() {
    clearTimeout(timer);
    if (askAfter === null || left || dismissed || waitingSince === null) { hide(); return; }
    if (!shopOpen) { show(true); return; }
    var wait = askAfter * 1000 - (Date.now() - waitingSince);
    if (wait <= 0) show(false);
    else timer = setTimeout(consider, wait);
  }

  document.addEventListener("responder:session", function (e) {
    var info = e.detail || {};
    askAfter = typeof info.ask_email_after === "number" ? info.ask_email_after : null;
    shopOpen = info.open !== false;
    consider();
  });

  document.addEventListener("responder:event", function (e) {
    var event = e.detail || {};
    if (event.kind === "email") {
      left = true;
    } else if (event.from === "visitor") {
      dismissed = false;
      if (waitingSince === null) waitingSince = Date.parse(event.at) || Date.now();
    } else if (event.from === "staff") {
      waitingSince = null;
    } else if (event.kind === "out_of_hours") {
      shopOpen = false;
    }
    consider();
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var address = field.value.replace(/^\s+|\s+$/g, "");
    if (!address || !field.checkValidity()) { error.textContent = t.bad; field.focus(); return; }
    save.disabled = true;
    error.textContent = "";
    panel.post("email", { email: address, client_id: panel.uuid(), language: panel.lang })
      .then(function (response) {
        if (response.status === 202) {
          left = true;
          field.value = "";
          hide();
          document.getElementById("text").focus();
        } else {
          error.textContent = response.status === 400 ? t.bad : t.failed;
        }
      }, function () { error.textContent = t.failed; })
      .then(function () { save.disabled = false; });
  });

  field.addEventListener("input", function () { error.textContent = ""; });

  dismiss.addEventListener("click", function () {
    dismissed = true;
    hide();
    document.getElementById("text").focus();
  });

  document.getElementById("email-label").textContent = t.label;
  save.textContent = t.save;
  dismiss.textContent = t.dismiss;
})();
