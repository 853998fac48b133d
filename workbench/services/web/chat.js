// The browser chat page: one websocket to /websocket, ParlAI's frames plus the opt-in hello,
// so a dropped connection or a reload comes back to the same conversation, and streams, so a
// model bot's reply appears as it is written (Stop cancels it).
(function () {
  "use strict";

  const SESSION_KEY = "workbench.session";
  const TYPING_TIMEOUT_MS = 20000;
  const MAX_BACKOFF_MS = 8000;

  const $ = (id) => document.getElementById(id);
  const transcript = $("transcript");
  const status = $("status");
  const typing = $("typing");
  const quickReplies = $("quick-replies");
  const composer = $("composer");
  const input = $("message");
  const imageInput = $("image");
  const sendButton = $("send");
  const stopButton = $("stop");
  const ended = $("ended");
  // stream id -> the message item its deltas are written into (until its final message)
  const streaming = new Map();

  let ws = null;
  let sessionId = sessionStorage.getItem(SESSION_KEY);
  // a reload of a page that had a conversation: ask the server to repaint it
  let wantHistory = Boolean(sessionId);
  let ready = false;
  let finished = false;
  let attempts = 0;
  let typingTimer = null;
  let limits = { max_frame_bytes: 65536 };
  // images from other sites only when the task allows them (serve.remote_images); the page's
  // Content-Security-Policy enforces the same
  const remoteImages = document.querySelector("main").dataset.remoteImages === "true";

  // Whether the newest message is in view: kept so while the person has not scrolled up to read.
  // The page's own scrolling is not the person's (its scroll event may arrive after the
  // transcript shrank, when the newest message is already out of view).
  let atNewest = true;
  let scrolledTo = null;
  transcript.addEventListener("scroll", () => {
    if (transcript.scrollTop === scrolledTo) return;
    atNewest = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 32;
  });

  function scrollToNewest() {
    transcript.scrollTop = transcript.scrollHeight;
    scrolledTo = transcript.scrollTop;
    atNewest = true;
  }

  // Quick replies, the typing dots and the end of a conversation appear below the transcript and
  // shrink it: the newest message (the bot's question, "Goodbye!") stays in view.
  new ResizeObserver(() => { if (atNewest) scrollToNewest(); }).observe(transcript);

  function setStatus(text) {
    status.textContent = text;
  }

  function setReady(value) {
    ready = value;
    input.disabled = !value;
    imageInput.disabled = !value;
    sendButton.disabled = !value;
    for (const b of quickReplies.querySelectorAll("button")) b.disabled = !value;
    if (value && !finished) input.focus();
  }

  function showTyping(on) {
    clearTimeout(typingTimer);
    typing.hidden = !on;
    if (on) typingTimer = setTimeout(() => { typing.hidden = true; }, TYPING_TIMEOUT_MS);
  }

  // Where an image may be loaded from: this server, data: and (if allowed) https; null otherwise.
  function imageSource(payload) {
    if (!payload || payload.type !== "image") return null;
    if (typeof payload.data === "string" && /^image\/[\w.+-]+$/.test(payload.mime_type || "")) {
      return "data:" + payload.mime_type + ";base64," + payload.data;
    }
    if (typeof payload.url !== "string") return null;
    if (/^data:image\/[\w.+-]+;base64,/.test(payload.url)) return payload.url;
    if (/^\/(?!\/)/.test(payload.url)) return payload.url; // a path on this server
    if (remoteImages && /^https:\/\//i.test(payload.url)) return payload.url;
    return null;
  }

  // What is shown instead of an attachment the page does not display.
  function attachmentNote(payload) {
    if (!payload || typeof payload !== "object") return "";
    if (payload.type === "image") return "[An image from another site, not shown]";
    if (payload.type === "file") {
      const name = typeof payload.name === "string" ? payload.name : "a file";
      return "[File: " + name + "]";
    }
    return "";
  }

  // Every message is added as text (textContent), never as HTML.
  function addMessage(kind, who, text, payload) {
    const item = document.createElement("li");
    item.className = "message " + kind;
    if (who) {
      const name = document.createElement("span");
      name.className = "who";
      name.textContent = who;
      item.appendChild(name);
    }
    const body = document.createElement("span");
    body.className = "text";
    body.textContent = text || "";
    item.appendChild(body);
    const src = imageSource(payload);
    if (src) {
      const img = document.createElement("img");
      img.src = src;
      img.alt = "Image from " + (who || "you");
      img.addEventListener("load", () => { if (atNewest) scrollToNewest(); });
      item.appendChild(img);
    } else if (payload) {
      const note = attachmentNote(payload);
      if (note) {
        const span = document.createElement("span");
        span.className = "attachment";
        span.textContent = note;
        item.appendChild(span);
      }
    }
    transcript.appendChild(item);
    scrollToNewest();
    return item;
  }

  function setQuickReplies(options) {
    quickReplies.replaceChildren();
    const list = Array.isArray(options) ? options : [];
    quickReplies.hidden = list.length === 0;
    for (const option of list) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = String(option);
      button.disabled = !ready;
      button.addEventListener("click", () => {
        sendText(String(option));
        input.focus(); // the buttons go away: keep keyboard users in the composer
      });
      quickReplies.appendChild(button);
    }
  }

  function send(frame) {
    const raw = JSON.stringify(frame);
    if (new Blob([raw]).size > limits.max_frame_bytes) {
      addMessage("error", "", "That is too large to send (the limit is " + limits.max_frame_bytes + " bytes).");
      return false;
    }
    if (!ws || ws.readyState !== WebSocket.OPEN || !ready) {
      addMessage("error", "", "Not connected; please wait a moment and try again.");
      return false;
    }
    ws.send(raw);
    return true;
  }

  function sendText(text) {
    if (!text.trim() || !send({ text: text })) return false;
    addMessage("mine", "", text);
    setQuickReplies([]);
    showTyping(true);
    return true;
  }

  function sendImage(file) {
    if (!file || !file.type.startsWith("image/")) return;
    const reader = new FileReader();
    reader.onload = () => {
      const data = String(reader.result).split(",", 2)[1] || "";
      const payload = { type: "image", data: data, mime_type: file.type };
      if (send({ text: "", payload: payload })) {
        addMessage("mine", "", "", payload);
        showTyping(true);
      }
    };
    reader.readAsDataURL(file);
  }

  function showStop() {
    stopButton.hidden = streaming.size === 0;
  }

  // A piece of a reply being generated: appended to its item (made on the first piece).
  function onDelta(frame) {
    const id = String(frame.stream.id);
    let item = streaming.get(id);
    if (!item) {
      showTyping(false);
      item = addMessage("theirs streaming", frame.id, "", null);
      streaming.set(id, item);
      showStop();
    }
    item.querySelector(".text").textContent += frame.stream.delta;
    transcript.scrollTop = transcript.scrollHeight;
  }

  // The final message of a stream replaces what its deltas wrote (it is what was stored).
  function endStream(frame) {
    const id = String(frame.stream.id);
    const item = streaming.get(id);
    streaming.delete(id);
    showStop();
    if (!item) return false;
    item.classList.remove("streaming");
    if (frame.stream.end === "cancelled") item.classList.add("cancelled");
    item.querySelector(".text").textContent = frame.text || "";
    setQuickReplies(frame.quick_replies);
    return true;
  }

  function onFrame(frame) {
    if (frame === null || typeof frame !== "object") return;
    if (frame.stream && typeof frame.stream === "object" && typeof frame.stream.delta === "string") {
      onDelta(frame);
      return;
    }
    if (typeof frame.session === "string") {
      // the answer to our hello
      if (sessionId && frame.session !== sessionId && transcript.children.length) {
        addMessage("system", "", "The earlier conversation could not be resumed; this is a new one.");
      }
      sessionId = frame.session;
      sessionStorage.setItem(SESSION_KEY, sessionId);
      if (frame.limits) limits = frame.limits;
      wantHistory = false;
      attempts = 0;
      setStatus(frame.resumed ? "Connected (conversation resumed)" : "Connected");
      setReady(true);
      return;
    }
    if (frame.debug) return;
    if (frame.error) {
      showTyping(false);
      addMessage("error", "", frame.text || frame.error.message);
      return;
    }
    if (frame.history) {
      const mine = frame.role === "human";
      addMessage(mine ? "mine" : (frame.role === "system" ? "system" : "theirs"), mine ? "" : frame.id, frame.text, frame.payload);
      setQuickReplies(frame.quick_replies);
      return;
    }
    showTyping(false);
    if (frame.stream && typeof frame.stream === "object" && endStream(frame)) return;
    const system = frame.id === "System";
    addMessage(system ? "system" : "theirs", system ? "" : frame.id, frame.text, frame.payload);
    setQuickReplies(frame.quick_replies);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + "/websocket");
    setStatus(attempts ? "Reconnecting…" : "Connecting…");
    ws.addEventListener("open", () => {
      const hello = { client: "browser", stream: true };
      if (sessionId) hello.session = sessionId;
      if (wantHistory) hello.history = 100;
      ws.send(JSON.stringify({ hello: hello }));
    });
    ws.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      setReady(false);
      showTyping(false);
      for (const item of streaming.values()) item.classList.replace("streaming", "cancelled");
      streaming.clear();
      showStop();
      if (event.code === 1000 && event.reason === "conversation ended") {
        finish();
        return;
      }
      if (event.code === 4001) {
        setStatus("This conversation continued in another window.");
        return;
      }
      if (event.reason === "idle timeout") {
        // the server closed a quiet connection: come back when the person does
        setStatus("Paused after a while without messages; click or press a key to continue.");
        const wake = () => {
          document.removeEventListener("keydown", wake);
          document.removeEventListener("pointerdown", wake);
          connect();
        };
        document.addEventListener("keydown", wake);
        document.addEventListener("pointerdown", wake);
        return;
      }
      attempts += 1;
      const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempts, 6));
      setStatus("Disconnected; reconnecting in " + Math.round(delay / 100) / 10 + " s…");
      setTimeout(connect, delay);
    });
  }

  function finish() {
    finished = true;
    sessionStorage.removeItem(SESSION_KEY);
    sessionId = null;
    setQuickReplies([]);
    setStatus("Conversation ended");
    ended.hidden = false;
    $("restart").focus();
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    if (sendText(input.value)) input.value = "";
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });

  stopButton.addEventListener("click", () => {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ cancel: true }));
    input.focus();
  });

  imageInput.addEventListener("change", () => {
    sendImage(imageInput.files[0]);
    imageInput.value = "";
  });

  $("restart").addEventListener("click", () => {
    finished = false;
    ended.hidden = true;
    transcript.replaceChildren();
    attempts = 0;
    connect();
  });

  connect();
})();
