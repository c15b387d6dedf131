// Draft autosave for clinical notes: posts the same form the Save button submits, a few seconds
// after the last keystroke. Without JavaScript the Save button does the same.
const form = document.querySelector("form[data-autosave]");
const status = form && form.querySelector("[data-autosave-status]");
const DELAY_MS = 2500;
let timer = null;
let dirty = false;
let inFlight = false;

function say(text) {
  if (status) status.textContent = text;
}

async function save() {
  if (!dirty || inFlight) return;
  inFlight = true;
  dirty = false;
  say(form.dataset.savingText || "Saving…");
  try {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { "X-Autosave": "1" },
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (response.ok && data.ok) {
      say(`${form.dataset.savedText || "Draft saved at"} ${data.saved_at_display}`);
    } else {
      dirty = true;
      say(data.error || form.dataset.failedText || "Not saved. Use the Save draft button.");
    }
  } catch (error) {
    dirty = true;
    say(form.dataset.failedText || "Not saved. Use the Save draft button.");
  } finally {
    inFlight = false;
  }
}

if (form) {
  form.addEventListener("input", () => {
    dirty = true;
    clearTimeout(timer);
    timer = setTimeout(save, DELAY_MS);
  });
  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault();
  });
  form.addEventListener("submit", () => {
    dirty = false;
    clearTimeout(timer);
  });
  // Signing submits another form: save the last keystrokes first, so they are signed too.
  const signForm = document.querySelector("form[data-autosave-flush]");
  if (signForm) {
    signForm.addEventListener("submit", async (event) => {
      if (!dirty && !inFlight) return;
      event.preventDefault();
      clearTimeout(timer);
      while (inFlight) await new Promise((resolve) => setTimeout(resolve, 50));
      await save();
      if (!dirty) signForm.submit();
    });
  }
}
