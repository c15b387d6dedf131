// Secure messaging, live. Upgrades the conversation in [data-chat] (which works without
// JavaScript as a plain form) to the messaging socket:
// - every message gets a client id; it stays "pending" (and in sessionStorage, so a reload
//   keeps it) until the server acknowledges it, and is re-sent after every reconnect: the
//   server stores one message per client id, so a resend never duplicates;
// - after connecting, and whenever a sequence number is skipped, it asks for everything after
//   the last sequence it has shown (chat.sync);
// - message text is only ever set with textContent, never parsed as HTML.
// On the call page (data-transport="call") the chat rides the call's socket, which
// sessions-call.js owns and exposes as window.telepsychCall.ws: this script watches for that
// socket (it is replaced on every reconnect) and sends and reads its chat frames on it.
const root = document.querySelector("[data-chat]");

if (root) {
  const threadId = root.dataset.threadId;
  const role = root.dataset.role;
  const wsPath = root.dataset.wsPath;
  const onCallSocket = root.dataset.transport === "call";
  const log = document.getElementById("chat-log");
  const form = document.getElementById("chat-form");
  const textarea = form.querySelector("textarea");
  const statusLine = document.getElementById("chat-status");
  const receiptLine = document.getElementById("chat-receipt");
  const typingLine = document.getElementById("chat-typing");
  const labels = {};
  for (const item of document.querySelectorAll("#chat-labels [data-key]")) {
    labels[item.dataset.key] = item.textContent;
  }
  const storageKey = `telepsych-chat-pending-${threadId}`;

  let lastSeq = Number(root.dataset.lastSeq || 0);
  let otherReadSeq = Number(root.dataset.otherReadSeq || 0);
  let lastMineSeq = 0;
  let sentReadSeq = 0;
  let socket = null;
  let attempt = 0;
  let typingTimer = null;
  let lastTypingSent = 0;
  const shown = new Set();
  const pending = new Map(); // client id -> {body, element}

  for (const item of log.querySelectorAll("[data-seq]")) {
    shown.add(Number(item.dataset.seq));
    if (item.classList.contains("chat-mine")) lastMineSeq = Number(item.dataset.seq);
  }

  function newClientId() {
    if (crypto.randomUUID) return crypto.randomUUID().replaceAll("-", "");
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function savePending() {
    const items = [...pending.entries()].map(([clientId, item]) => ({ clientId, body: item.body }));
    try {
      sessionStorage.setItem(storageKey, JSON.stringify(items));
    } catch {
      /* storage full or disabled: pending messages live in memory only */
    }
  }

  function timeText(iso) {
    const date = iso ? new Date(iso) : new Date();
    return date.toLocaleString([], { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });
  }

  function buildItem({ mine, senderName, body, sentAt, seq, clientId }) {
    const item = document.createElement("li");
    item.className = `chat-message ${mine ? "chat-mine" : "chat-theirs"}`;
    if (seq) item.dataset.seq = String(seq);
    item.dataset.clientId = clientId;
    const meta = document.createElement("p");
    meta.className = "chat-meta";
    const sender = document.createElement("span");
    sender.className = "chat-sender";
    sender.textContent = mine ? labels.you : senderName;
    const time = document.createElement("time");
    if (sentAt) time.dateTime = sentAt;
    time.textContent = timeText(sentAt);
    meta.append(sender, " ", time);
    const text = document.createElement("p");
    text.className = "chat-body";
    text.textContent = body;
    item.append(meta, text);
    return item;
  }

  function firstPendingItem() {
    return log.querySelector(".chat-pending");
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  function showMessage(message) {
    if (shown.has(message.seq)) return;
    shown.add(message.seq);
    document.getElementById("chat-empty")?.remove();
    const mine = message.sender === role;
    let item = null;
    if (mine && pending.has(message.client_id)) {
      item = pending.get(message.client_id).element;
      pending.delete(message.client_id);
      savePending();
      item.classList.remove("chat-pending");
      item.querySelector(".chat-state")?.remove();
      item.dataset.seq = String(message.seq);
      item.remove();
    } else {
      item = buildItem({
        mine, senderName: message.sender_name, body: message.body, sentAt: message.sent_at,
        seq: message.seq, clientId: message.client_id,
      });
    }
    log.insertBefore(item, firstPendingItem());
    if (mine) lastMineSeq = Math.max(lastMineSeq, message.seq);
    else typingLine.hidden = true;
    updateReceipt();
    scrollToEnd();
  }

  function advance(messages) {
    for (const message of messages) {
      if (message.seq <= lastSeq) continue;
      if (message.seq !== lastSeq + 1) return false; // a gap: ask for the rest
      showMessage(message);
      lastSeq = message.seq;
    }
    return true;
  }

  function send(frame) {
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  function sync() {
    send({ type: "chat.sync", after: lastSeq });
  }

  function markRead() {
    if (document.visibilityState !== "visible" || lastSeq <= sentReadSeq) return;
    if (send({ type: "chat.read", seq: lastSeq })) sentReadSeq = lastSeq;
  }

  function updateReceipt() {
    const seen = lastMineSeq > 0 && otherReadSeq >= lastMineSeq;
    receiptLine.textContent = seen ? labels.seen : "";
  }

  function addPending(clientId, body) {
    const item = buildItem({ mine: true, body, clientId, sentAt: null });
    item.classList.add("chat-pending");
    const state = document.createElement("p");
    state.className = "chat-state muted";
    state.textContent = labels.sending;
    item.append(state);
    document.getElementById("chat-empty")?.remove();
    log.append(item);
    pending.set(clientId, { body, element: item });
    savePending();
    scrollToEnd();
  }

  function sendPending(clientId) {
    const item = pending.get(clientId);
    if (!item) return;
    if (!send({ type: "chat.send", client_id: clientId, body: item.body })) {
      const state = item.element.querySelector(".chat-state");
      if (state) state.textContent = labels.not_sent;
    }
  }

  function handle(frame) {
    switch (frame.type) {
      case "chat.history":
        if (!advance(frame.messages) || frame.more) sync();
        otherReadSeq = role === "patient" ? frame.read.clinician : frame.read.patient;
        updateReceipt();
        markRead();
        break;
      case "chat.message":
        if (!advance([frame.message])) sync();
        markRead();
        break;
      case "chat.ack": {
        if (frame.seq > lastSeq) {
          // The broadcast usually follows the ack; if it was lost, fetch it.
          const seq = frame.seq;
          setTimeout(() => { if (lastSeq < seq) sync(); }, 1500);
        } else if (pending.has(frame.client_id)) {
          // Already shown (stored before a reload): drop the pending copy.
          pending.get(frame.client_id).element.remove();
          pending.delete(frame.client_id);
          savePending();
        }
        break;
      }
      case "chat.receipt":
        if (frame.reader !== role) {
          otherReadSeq = Math.max(otherReadSeq, frame.seq);
          updateReceipt();
        }
        break;
      case "chat.typing":
        if (frame.who !== role) {
          typingLine.hidden = false;
          clearTimeout(typingTimer);
          typingTimer = setTimeout(() => { typingLine.hidden = true; }, 5000);
        }
        break;
      case "error":
        if (frame.client_id && pending.has(frame.client_id)) {
          const item = pending.get(frame.client_id);
          if (frame.code === "rate_limited") {
            setTimeout(() => sendPending(frame.client_id), 3000);
          } else {
            // Refused for good (too long, empty): show why and put the text back to edit.
            pending.delete(frame.client_id);
            savePending();
            item.element.remove();
            textarea.value = item.body;
          }
        }
        statusLine.textContent = frame.detail;
        break;
      default:
        break;
    }
  }

  function onSocketOpen() {
    attempt = 0;
    // On the call page the call's own status line already says so.
    statusLine.textContent = onCallSocket ? "" : labels.connected;
    sync();
    for (const clientId of pending.keys()) sendPending(clientId);
  }

  function onSocketMessage(event) {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    // The call socket also carries signaling: take chat frames and chat errors only.
    if (onCallSocket && !frame.type.startsWith("chat.") && !(frame.type === "error" && frame.client_id)) return;
    if (frame.type === "chat.ready") return onSocketOpen();
    handle(frame);
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    socket = new WebSocket(`${scheme}://${location.host}${wsPath}`);
    socket.addEventListener("message", onSocketMessage);
    socket.addEventListener("close", (closed) => {
      socket = null;
      if (closed.code === 4401 || closed.code === 4403) {
        statusLine.textContent = labels.closed;
        return;
      }
      statusLine.textContent = labels.reconnecting;
      attempt += 1;
      const delay = Math.min(15000, 500 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());
      setTimeout(connect, delay);
    });
  }

  function followCallSocket() {
    // The call page's socket is created (and re-created) by sessions-call.js.
    const ws = window.telepsychCall?.ws;
    if (ws && ws !== socket) {
      socket = ws;
      ws.addEventListener("message", onSocketMessage);
      ws.addEventListener("open", onSocketOpen);
      if (ws.readyState === WebSocket.OPEN) onSocketOpen();
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = textarea.value;
    if (!body.trim()) {
      textarea.focus();
      return;
    }
    const clientId = newClientId();
    addPending(clientId, body);
    textarea.value = "";
    textarea.focus();
    sendPending(clientId);
  });

  textarea.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter starts a new line (the button works too).
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  textarea.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTypingSent > 3000 && textarea.value.trim()) {
      lastTypingSent = now;
      send({ type: "chat.typing" });
    }
  });

  document.addEventListener("visibilitychange", markRead);

  // Messages written before a reload and never acknowledged are sent again (same client id).
  try {
    for (const saved of JSON.parse(sessionStorage.getItem(storageKey) || "[]")) {
      const stored = log.querySelector(`[data-seq][data-client-id="${CSS.escape(String(saved.clientId))}"]`);
      if (stored) continue;
      if (typeof saved.clientId === "string" && typeof saved.body === "string") {
        addPending(saved.clientId, saved.body);
      }
    }
  } catch {
    /* nothing saved */
  }
  scrollToEnd();
  if (onCallSocket) {
    followCallSocket();
    setInterval(followCallSocket, 250);
  } else {
    connect();
  }
}
