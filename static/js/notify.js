// Realtime notifications for the signed-in person. Keeps /ws/clinician/ (staff) or
// /ws/patient/ open, reconnecting with backoff, and re-dispatches every event as
//   window.dispatchEvent(new CustomEvent("telepsych:notify", {detail: event}))
// so any page script can listen without opening its own socket.
const script = document.querySelector("script[data-notify-path]");
const path = script?.dataset.notifyPath;
let attempt = 0;

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}${path}`);
  window.telepsychNotify = socket;
  socket.addEventListener("open", () => {
    attempt = 0;
    window.dispatchEvent(new CustomEvent("telepsych:notify-open"));
  });
  socket.addEventListener("message", (message) => {
    let event;
    try {
      event = JSON.parse(message.data);
    } catch {
      return;
    }
    if (event && typeof event.kind === "string") {
      window.dispatchEvent(new CustomEvent("telepsych:notify", { detail: event }));
    }
  });
  socket.addEventListener("close", (closed) => {
    // 4401/4403: signed out or not allowed; retrying would not help.
    if (closed.code === 4401 || closed.code === 4403) return;
    const delay = Math.min(30000, 1000 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt += 1;
    setTimeout(connect, delay);
  });
}

if (path) connect();
