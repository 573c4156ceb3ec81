// Small behaviours every page shares. Pages work without this file; it makes them nicer.
// No inline script, no eval: the Content-Security-Policy allows neither (htmx's allowEval is off).

// Polling elements (hx-trigger="every 2s") keep asking while their tab is hidden: each turn is a
// database read, never a paid call, and it is how a tab in the background hears that a job ended
// (its title and icon change, static/js/progress.js).

// Forms marked data-submit-once send once: their submit buttons disable as the form goes out,
// so a double click (or Enter pressed twice) is one submission. The capture phase runs before
// htmx's own submit listener, so this holds for plain and htmx forms alike.
document.addEventListener(
  "submit",
  (event) => {
    const form = event.target;
    if (!form.matches("[data-submit-once]")) return;
    if (form.dataset.submitting) {
      event.preventDefault();
      event.stopPropagation();
      return;
    }
    // A form that asks first (hx-confirm) is marked busy once htmx sends it, not before the answer.
    if (form.hasAttribute("hx-confirm") && window.htmx) return;
    busy(form);
  },
  true,
);

function busy(form) {
  form.dataset.submitting = "true";
  form.setAttribute("aria-busy", "true");
  // Disable after the browser has collected the form's data (a disabled button sends nothing).
  setTimeout(() => {
    for (const button of form.querySelectorAll("button[type=submit], button:not([type])")) {
      button.disabled = true;
      if (button.dataset.busyLabel) {
        button.dataset.label = button.textContent;
        button.textContent = button.dataset.busyLabel;
      }
    }
  }, 0);
}

// The data-submit-once form an htmx request sends, if it sends one: the form itself or one of its
// submit buttons. A field's own request (the price of the number being typed) sends nothing, so it
// neither disables the form nor, when it returns, enables a form that is on its way.
function submittedForm(elt) {
  const form = elt.closest && elt.closest("form[data-submit-once]");
  if (!form) return null;
  return elt === form || elt.matches("button[type=submit], button:not([type]), input[type=submit]") ? form : null;
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const form = submittedForm(event.detail.elt);
  if (form && !form.dataset.submitting) busy(form);
});

function enable(form) {
  delete form.dataset.submitting;
  form.removeAttribute("aria-busy");
  for (const button of form.querySelectorAll("button")) {
    button.disabled = false;
    if (button.dataset.label) button.textContent = button.dataset.label;
  }
}

// An htmx form that got its answer can be sent again; so can a page the back button restored.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = submittedForm(event.detail.elt);
  if (form) enable(form);
});
window.addEventListener("pageshow", (event) => {
  if (event.persisted) document.querySelectorAll("form[data-submit-once]").forEach(enable);
});

// A "more results" form says the total for the number typed, on its button and in its confirmation.
function formatUsd(baseUnits) {
  const dollars = baseUnits / 1e6;
  let places = 2;
  while (places < 6 && Math.round(dollars * 10 ** places) !== dollars * 10 ** places) places += 1;
  return "$" + dollars.toLocaleString("en-US", { minimumFractionDigits: places, maximumFractionDigits: places });
}
document.addEventListener("input", (event) => {
  const form = event.target.closest("form[data-more-price]");
  if (!form || event.target.name !== "additional") return;
  const count = parseInt(event.target.value, 10);
  if (!(count >= 1 && count <= 1000)) return;
  const total = formatUsd(count * Number(form.dataset.perResult) + Number(form.dataset.call));
  form.querySelector("button[type=submit]").textContent = `Find ${count} more · ${total}`;
  form.setAttribute("hx-confirm", `Ask for ${count} more results? That costs ${total}.`);
});

// A filter form's empty fields stay out of the address htmx pushes: "?q=zoe", not "?q=zoe&country=&…".
document.addEventListener("htmx:configRequest", (event) => {
  const { verb, formData } = event.detail;
  if (verb !== "get" || !formData) return;
  for (const name of new Set(formData.keys())) {
    if (formData.getAll(name).every((value) => value === "")) formData.delete(name);
  }
});

// A lead's whole profile opens in a full-width row under its own (htmx fetches it into the row's cell);
// the name, pressed again, or the panel's Close button, closes it. Without JavaScript the name opens a page.
function panelLink(pk) {
  return document.querySelector(`a.lead-open[aria-controls="panel-row-${pk}"]`);
}
function showPanel(link, open) {
  const row = document.getElementById(link.getAttribute("aria-controls"));
  if (row) row.hidden = !open;
  link.setAttribute("aria-expanded", open ? "true" : "false");
}
document.addEventListener(
  "click",
  (event) => {
    if (!event.target.closest) return;
    const link = event.target.closest("a.lead-open");
    if (link && link.getAttribute("aria-expanded") === "true") {
      event.preventDefault();
      event.stopPropagation(); // before htmx: no second fetch, just close
      showPanel(link, false);
      return;
    }
    const close = event.target.closest("[data-close-panel]");
    const opener = close && panelLink(close.dataset.closePanel);
    if (opener) {
      showPanel(opener, false);
      opener.focus();
    }
  },
  true,
);
document.addEventListener("htmx:afterSwap", (event) => {
  const cell = event.detail.target;
  const row = cell && cell.closest && cell.closest("tr.panel-row");
  const link = row && panelLink(row.id.replace("panel-row-", ""));
  if (link) showPanel(link, true);
});

// "Tick every person on this page" ticks the rows' boxes, which belong to the bulk form.
document.addEventListener("change", (event) => {
  if (event.target.id !== "select-page") return;
  for (const box of document.querySelectorAll('input[name="person"][form="bulk"]')) box.checked = event.target.checked;
});
