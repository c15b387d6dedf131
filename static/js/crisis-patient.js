// Crisis, patient side: the live crisis panel (kind "crisis.panel" from notify.js), and the
// panic button submitted without leaving the page, so a call keeps going.
const live = document.getElementById("crisis-live");
// Events the care team acknowledged: a panel for one of them that arrives late (the panic
// button's own response can come after the acknowledgement) keeps the "seen" note.
const acknowledged = new Set();

function showPanel(html, eventId) {
  // "Get help now" already shows every number: no second copy on top of it.
  if (!live || !html || "onHelpPage" in live.dataset) return;
  live.innerHTML = html;
  if (eventId != null) live.dataset.eventId = String(eventId);
  if (acknowledged.has(String(eventId))) showAcknowledged(eventId);
  live.hidden = false;
  const heading = live.querySelector("#crisis-panel-heading");
  live.scrollIntoView({ block: "start", behavior: "auto" });
  if (heading) heading.focus({ preventScroll: true });
  document.body.dataset.crisisPanelShownAt = String(Date.now());
}

function showAcknowledged(eventId) {
  if (!live) return;
  if (eventId != null) acknowledged.add(String(eventId));
  if (eventId != null && live.dataset.eventId && live.dataset.eventId !== String(eventId)) return;
  const panel = live.querySelector("#crisis-panel");
  if (!panel || panel.querySelector(".crisis-acknowledged")) return;
  const note = document.createElement("p");
  note.className = "message message-success crisis-acknowledged";
  note.setAttribute("role", "status");
  note.textContent = live.dataset.labelAcknowledged || "";
  if (note.textContent) panel.prepend(note);
}

if (live && !live.dataset.listening) {
  live.dataset.listening = "1";
  window.addEventListener("telepsych:notify", (event) => {
    const detail = event.detail || {};
    if (detail.kind === "crisis.panel") showPanel(detail.html, detail.event_id);
    else if (detail.kind === "crisis.acknowledged") showAcknowledged(detail.event_id);
  });
  // A push sent while this page was offline is not replayed by the socket: ask on (re)connect.
  window.addEventListener("telepsych:notify-open", async () => {
    if (live.querySelector("#crisis-panel")) return;
    try {
      const response = await fetch(live.dataset.panelUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) return;
      const data = await response.json();
      if (data.html && !live.querySelector("#crisis-panel")) showPanel(data.html, data.event_id);
    } catch (error) {
      // offline again: the next (re)connect asks again
    }
  });
}

for (const form of document.querySelectorAll("form[data-panic-form]")) {
  if (form.dataset.bound) continue;
  form.dataset.bound = "1";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const data = await response.json();
      if (form.dataset.panicDone) {
        // On "Get help now" the numbers are already on screen: confirm in place of the form.
        const done = document.createElement("p");
        done.className = "message message-success";
        done.id = "crisis-alerted";
        done.setAttribute("role", "status");
        done.textContent = form.dataset.panicDone;
        form.replaceWith(done);
      } else {
        showPanel(data.html, data.event_id);
      }
    } catch (error) {
      form.submit(); // fall back to the plain form: lands on "Get help now"
    } finally {
      if (button) button.disabled = false;
    }
  });
}
