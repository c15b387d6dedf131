// The clinician's waiting-room list, kept current by notify.js events:
// waiting.patient_arrived adds a row (with a one-click Admit), waiting.patient_left removes it.
const list = document.getElementById("waiting-items");
const empty = document.getElementById("waiting-empty");
const template = document.getElementById("waiting-item-template");

function refreshEmpty() {
  empty.hidden = list.children.length > 0;
}

function addRow(event) {
  if (list.querySelector(`[data-session="${CSS.escape(event.session_id)}"]`)) return;
  const row = template.content.firstElementChild.cloneNode(true);
  row.dataset.session = event.session_id;
  row.querySelector(".waiting-name").textContent = event.patient_name;
  row.querySelector(".waiting-where").textContent = event.region_name;
  const form = row.querySelector(".admit-form");
  const open = row.querySelector(".open-room");
  const review = row.querySelector(".review-room");
  open.href = event.room_url;
  review.href = event.room_url;
  if (event.licensed_there === false) {
    row.querySelector(".badge-warning").hidden = false;
    form.remove();
    open.remove();
    review.hidden = false;
  } else {
    form.action = event.admit_url;
    const button = form.querySelector("button");
    button.textContent = `${button.dataset.label} ${event.patient_name}`;
  }
  list.append(row);
  refreshEmpty();
}

function removeRow(event) {
  list.querySelector(`[data-session="${CSS.escape(event.session_id)}"]`)?.remove();
  refreshEmpty();
}

window.addEventListener("telepsych:notify", ({ detail }) => {
  if (detail.kind === "waiting.patient_arrived") addRow(detail);
  else if (detail.kind === "waiting.patient_left") removeRow(detail);
});
