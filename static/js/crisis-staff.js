// Crisis, staff side: a realtime alert (kind "crisis.alert") on every page, including the call,
// with "Open" and "Acknowledge"; removed when anyone acknowledges ("crisis.acknowledged").
const box = document.getElementById("crisis-alerts");

function csrfToken() {
  const input = box.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

function inCall() {
  return Boolean(document.getElementById("room"));
}

function bindAck(form) {
  if (form.dataset.bound) return;
  form.dataset.bound = "1";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const alert = form.closest(".crisis-alert");
    const button = form.querySelector("button");
    if (button) button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (response.ok || response.status === 409) {
        markAcknowledged(alert);
      } else {
        throw new Error(`HTTP ${response.status}`);
      }
    } catch (error) {
      form.submit();
    }
  });
}

function markAcknowledged(alert) {
  if (!alert) return;
  alert.classList.add("crisis-alert-done");
  alert.textContent = box.dataset.labelAcknowledged;
  setTimeout(() => alert.remove(), 4000);
}

function addAlert(detail) {
  const id = String(detail.event_id);
  let alert = box.querySelector(`.crisis-alert[data-event-id="${CSS.escape(id)}"]`);
  if (!alert) {
    alert = document.createElement("div");
    alert.className = "crisis-alert";
    alert.dataset.eventId = id;
    box.prepend(alert);
  }
  alert.replaceChildren();
  const text = document.createElement("p");
  const strong = document.createElement("strong");
  strong.textContent = detail.escalation ? box.dataset.labelEscalated : box.dataset.labelAlert;
  text.append(strong);
  const actions = document.createElement("div");
  actions.className = "actions";
  const open = document.createElement("a");
  open.className = "button button-help";
  open.href = detail.url;
  open.dataset.openAlert = "";
  open.textContent = box.dataset.labelOpen;
  if (inCall()) {
    open.target = "_blank";
    open.rel = "noopener";
  }
  const form = document.createElement("form");
  form.method = "post";
  form.className = "inline-form";
  form.dataset.ackForm = "";
  form.action = box.dataset.ackUrlTemplate.replace("/0/", `/${encodeURIComponent(id)}/`);
  const token = document.createElement("input");
  token.type = "hidden";
  token.name = "csrfmiddlewaretoken";
  token.value = csrfToken();
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "button-secondary";
  button.textContent = box.dataset.labelAck;
  form.append(token, button);
  actions.append(open, form);
  alert.append(text, actions);
  bindAck(form);
  document.body.dataset.crisisAlertShownAt = String(Date.now());
}

if (box && !box.dataset.listening) {
  box.dataset.listening = "1";
  for (const form of box.querySelectorAll("form[data-ack-form]")) bindAck(form);
  if (inCall()) {
    for (const link of box.querySelectorAll("a[data-open-alert]")) {
      link.target = "_blank";
      link.rel = "noopener";
    }
  }
  window.addEventListener("telepsych:notify", (event) => {
    const detail = event.detail || {};
    if (detail.kind === "crisis.alert") addAlert(detail);
    else if (detail.kind === "crisis.acknowledged") {
      const alert = box.querySelector(`.crisis-alert[data-event-id="${CSS.escape(String(detail.event_id))}"]`);
      if (alert && !alert.classList.contains("crisis-alert-done")) markAcknowledged(alert);
    }
  });
  // Alerts pushed while this page was offline: ask on (re)connect.
  window.addEventListener("telepsych:notify-open", async () => {
    try {
      const response = await fetch(box.dataset.alertsUrl, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) return;
      const data = await response.json();
      for (const detail of data.alerts || []) {
        const id = CSS.escape(String(detail.event_id));
        if (!box.querySelector(`.crisis-alert[data-event-id="${id}"]`)) addAlert(detail);
      }
    } catch (error) {
      // offline again: the next (re)connect asks again
    }
  });
}
