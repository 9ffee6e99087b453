// byoc agent console: live updates over the console's event stream (/console/live, docs/console.md)
// and the reply box. The pages work without it (forms post and come back with 303); this script
// only keeps them current and sends replies without a reload.
//
// - On the list, a `conversation` event re-reads the list and replaces its rows.
// - On a conversation, a `conversation` event for it re-reads the page's live parts
//   (GET …/transcript) and merges them: new lines are appended (new end-user messages announced
//   in #live-announcer), changed lines replaced, the typing indicator and the details updated.
// - `delivered` marks the agent's entry "Delivered to subscriber"; `reset` re-reads everything.
// - window.byocLive = { connect(), disconnect(), lastEventId }: connect() resumes with
//   ?lastEventId= so a dropped connection misses nothing.
// - Enter in the message box sends (Shift+Enter: new line); the reply goes by fetch.
(function () {
  "use strict";

  var root = document.querySelector("[data-agent-console]");
  if (!root) return;
  var mode = root.getAttribute("data-agent-console");
  var conversationId = root.getAttribute("data-conversation-id") || "";
  var transcriptHref = root.getAttribute("data-transcript-href") || "";
  var statusEl = document.getElementById("live-status");
  var announcer = document.getElementById("live-announcer");
  // Entries a subscriber received, kept across re-renders of their lines.
  var delivered = {};
  var typingTimer = null;
  var MAX_ANNOUNCEMENTS = 20;

  function setStatus(text) {
    if (!statusEl) return;
    statusEl.hidden = false;
    if (statusEl.textContent !== text) statusEl.textContent = text;
  }

  function announce(text) {
    if (!announcer) return;
    var p = document.createElement("p");
    p.textContent = text;
    announcer.appendChild(p);
    while (announcer.childNodes.length > MAX_ANNOUNCEMENTS) announcer.removeChild(announcer.firstChild);
  }

  function parse(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // One fetch at a time; events during a fetch ask for one more afterwards.
  function refresher(load) {
    var busy = false, again = false;
    function run() {
      if (busy) { again = true; return; }
      busy = true; again = false;
      load().catch(function () {}).then(function () {
        busy = false;
        if (again) run();
      });
    }
    return run;
  }

  // ---- the list --------------------------------------------------------------------------------

  function refreshList() {
    return fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = parse(html);
        var rows = doc.querySelector("#conversation-rows");
        var mine = document.getElementById("conversation-rows");
        if (!rows || !mine) return;
        var before = {};
        mine.querySelectorAll("tr[data-conversation-id]").forEach(function (tr) {
          var cell = tr.querySelector(".conversation-preview");
          before[tr.getAttribute("data-conversation-id")] = cell ? cell.textContent : "";
        });
        rows.querySelectorAll("tr[data-conversation-id]").forEach(function (tr) {
          var id = tr.getAttribute("data-conversation-id");
          var cell = tr.querySelector(".conversation-preview");
          var preview = cell ? cell.textContent : "";
          if (before[id] !== preview && preview !== "" && preview.indexOf("Agent: ") !== 0) {
            var who = tr.querySelector("a");
            announce("New message from " + (who ? who.textContent : "an end user") + ": " + preview);
          }
        });
        mine.replaceChildren.apply(mine, Array.prototype.slice.call(rows.childNodes));
        var empty = document.getElementById("conversation-list-empty");
        if (empty) empty.hidden = mine.querySelector("tr") !== null;
      });
  }

  // ---- a conversation --------------------------------------------------------------------------

  function markDelivered(li) {
    var status = li.querySelector(".entry-status");
    if (!status || status.querySelector(".entry-subscriber")) return;
    var span = document.createElement("span");
    span.className = "entry-subscriber";
    span.textContent = "Delivered to subscriber";
    status.appendChild(document.createTextNode(" "));
    status.appendChild(span);
  }

  function entryById(list, id) {
    var found = null;
    list.querySelectorAll("li[data-entry-id]").forEach(function (li) {
      if (li.getAttribute("data-entry-id") === id) found = li;
    });
    return found;
  }

  function mergeTranscript(fresh) {
    var mine = document.getElementById("transcript");
    if (!mine || !fresh) return;
    var existing = {};
    mine.querySelectorAll("li[data-entry-id]").forEach(function (li) {
      existing[li.getAttribute("data-entry-id")] = li;
    });
    var wanted = {};
    var previous = null;
    Array.prototype.slice.call(fresh.querySelectorAll("li[data-entry-id]")).forEach(function (li) {
      var id = li.getAttribute("data-entry-id");
      wanted[id] = true;
      if (delivered[id]) markDelivered(li);
      var old = existing[id];
      if (old) {
        if (old.outerHTML !== li.outerHTML) { old.replaceWith(li); old = li; }
        previous = old;
        return;
      }
      if (previous && previous.nextSibling) mine.insertBefore(li, previous.nextSibling);
      else if (previous) mine.appendChild(li);
      else mine.insertBefore(li, mine.firstChild);
      previous = li;
      if (li.classList.contains("entry-end-user")) {
        var who = li.querySelector(".entry-who");
        var text = li.querySelector(".entry-text");
        var files = li.querySelectorAll(".entry-file a, .entry-image figcaption a");
        var what = text ? text.textContent : (files.length ? "sent " + files[0].textContent : "");
        announce("New message from " + (who ? who.textContent : "the end user") + ": " + what);
      }
    });
    // Lines no longer in the page's window (the oldest, past the limit) go.
    Object.keys(existing).forEach(function (id) { if (!wanted[id]) existing[id].remove(); });
  }

  function applyTyping(el) {
    var mine = document.getElementById("typing-indicator");
    if (!mine || !el) return;
    mine.textContent = el.textContent;
    var until = parseInt(el.getAttribute("data-typing-until"), 10) || 0;
    var now = parseInt(el.getAttribute("data-now"), 10) || 0;
    mine.hidden = el.hidden;
    if (typingTimer) { clearTimeout(typingTimer); typingTimer = null; }
    if (!el.hidden && until > now) {
      // The server's window, on the browser's clock: the indicator goes away by itself.
      typingTimer = setTimeout(function () { mine.hidden = true; typingTimer = null; }, until - now);
    }
  }

  function replaceById(fresh, id) {
    var el = fresh.querySelector("#" + id);
    var mine = document.getElementById(id);
    if (el && mine && mine.outerHTML !== el.outerHTML) mine.replaceWith(el);
  }

  function refreshConversation() {
    return fetch(transcriptHref, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var fresh = parse(html);
        mergeTranscript(fresh.querySelector("#transcript"));
        applyTyping(fresh.querySelector("#typing-indicator"));
        replaceById(fresh, "conversation-facts");
        replaceById(fresh, "conversation-records");
      });
  }

  var refresh = refresher(mode === "list" ? refreshList : refreshConversation);

  // ---- the live feed ---------------------------------------------------------------------------

  var source = null;
  var lastEventId = null;

  function remember(e) {
    if (e.lastEventId) lastEventId = e.lastEventId;
  }

  function data(e) {
    try { return JSON.parse(e.data); } catch (err) { return {}; }
  }

  function connect() {
    if (source) return;
    var url = "/console/live";
    if (lastEventId !== null) url += "?lastEventId=" + encodeURIComponent(lastEventId);
    source = new EventSource(url);
    source.onopen = function () {
      setStatus("Live");
      // Whatever changed before the stream began (or while it was down) is read once.
      refresh();
    };
    source.onerror = function () {
      setStatus("Reconnecting…");
    };
    source.addEventListener("conversation", function (e) {
      remember(e);
      var d = data(e);
      if (mode === "list" || d.conversationId === conversationId) refresh();
    });
    source.addEventListener("delivered", function (e) {
      remember(e);
      var d = data(e);
      if (mode !== "conversation" || d.conversationId !== conversationId || !d.entryId) return;
      delivered[d.entryId] = true;
      var list = document.getElementById("transcript");
      var li = list && entryById(list, d.entryId);
      if (li) markDelivered(li);
      else refresh();
    });
    source.addEventListener("reset", function (e) {
      remember(e);
      refresh();
    });
  }

  function disconnect() {
    if (source) { source.close(); source = null; }
    setStatus("Reconnecting…");
  }

  window.byocLive = {
    connect: connect,
    disconnect: disconnect,
    get lastEventId() { return lastEventId; }
  };

  // ---- the reply box ---------------------------------------------------------------------------

  function freshKey(form) {
    var input = form.querySelector("input[name=idempotency_key]");
    if (!input) return;
    if (window.crypto && typeof window.crypto.randomUUID === "function") input.value = window.crypto.randomUUID();
    else input.remove();
  }

  function replyBox() {
    var form = document.getElementById("reply-form");
    if (!form) return;
    var text = form.querySelector("textarea[name=text]");
    var file = form.querySelector("input[name=file]");
    var error = document.getElementById("reply-error");
    var sending = false;

    function send() {
      if (sending) return;
      if (text.value.trim() === "" && !(file && file.files && file.files.length)) return;
      sending = true;
      if (error) { error.hidden = true; error.textContent = ""; }
      var body = new FormData(form);
      fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (answer) {
          if (!r.ok) throw new Error(answer.message || ("The reply was not sent (HTTP " + r.status + ")."));
          text.value = "";
          if (file) file.value = "";
          freshKey(form);
          refresh();
        });
      }).catch(function (err) {
        if (error) { error.textContent = err.message; error.hidden = false; }
      }).then(function () {
        sending = false;
      });
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send();
    });
    text.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
        e.preventDefault();
        send();
      }
    });
  }

  // Other forms post normally; each post gets a new idempotency key (a page restored from the
  // browser's history must not replay the last action's key).
  document.querySelectorAll("#end-form, #routing-form").forEach(function (f) {
    f.addEventListener("submit", function () { freshKey(f); });
  });

  replyBox();
  // "typing…" shown by the server goes away by itself too.
  var typing = document.getElementById("typing-indicator");
  if (typing && !typing.hidden) applyTyping(typing.cloneNode(true));
  if (typeof window.EventSource === "function") connect();
})();
