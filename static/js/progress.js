// A running job between two paid checks: what the page says moves, and it says so when the job ends.
// Pages work without this file (the server writes every figure); with it:
//
// - relative times ("checked 40 s ago", "next check in about 20 s") and the poller's estimate
//   (the hatched bar, "≈ 42 %") move every second, from the timestamps the server wrote
//   (data-ago, data-until, data-estimate-start/-finish) and the server's clock (data-now). They
//   never go backwards: the server clock is estimated from below and each figure only moves on;
// - when a job ends (or pauses for budget) while the page is open, the tab's title and icon
//   change, and a browser notification pops up if the person allowed them (asked once, from a
//   button, never on load);
// - when new profiles arrive while the reader works the table, the rows they had open stay open.
// No inline script: this file reads data attributes only.
(function () {
  "use strict";

  // --- The server's clock, from below -------------------------------------------------------
  // Every sample (a render time in data-now, read as the element arrives) is at most the server's
  // time now, so the largest offset is the best estimate and can only grow: times never jump back.
  let offset = null;
  function sample(root) {
    const elements = root.querySelectorAll ? [root, ...root.querySelectorAll("[data-now]")] : [];
    for (const element of elements) {
      const rendered = Number(element.dataset && element.dataset.now);
      if (!rendered) continue;
      const candidate = rendered - performance.now();
      if (offset === null || candidate > offset) offset = candidate;
    }
  }
  function serverNow() {
    return offset === null ? Date.now() : offset + performance.now();
  }

  // --- Words for times, as research/progress.py says them ------------------------------------
  function span(seconds) {
    seconds = Math.floor(seconds);
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor((seconds + 30) / 60);
    if (minutes < 60) return `${minutes} min`;
    return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  }
  function ago(seconds) {
    seconds = Math.max(seconds, 0);
    return seconds < 3 ? "just now" : `${span(seconds)} ago`;
  }
  function until(seconds, dueText) {
    return seconds <= 0 ? dueText || "due now" : `in about ${span(seconds)}`;
  }

  // The furthest each figure has gone, by what it measures (a timestamp), across refreshes.
  const furthest = new Map();
  function onward(key, value, forward) {
    const before = furthest.get(key);
    const next = before === undefined ? value : forward ? Math.max(before, value) : Math.min(before, value);
    furthest.set(key, next);
    return next;
  }

  function tick() {
    const now = serverNow();
    for (const element of document.querySelectorAll("[data-ago]")) {
      const at = Number(element.dataset.ago);
      element.textContent = ago(onward(`ago:${at}`, Math.floor((now - at) / 1000), true));
    }
    for (const element of document.querySelectorAll("[data-until]")) {
      const at = Number(element.dataset.until);
      const seconds = onward(`until:${at}`, Math.floor((at - now) / 1000), false);
      element.textContent = until(seconds, element.dataset.dueText);
    }
    for (const bar of document.querySelectorAll("progress[data-estimate-start][data-estimate-finish]")) {
      const start = Number(bar.dataset.estimateStart);
      const finish = Number(bar.dataset.estimateFinish);
      if (!(finish > start)) continue;
      const share = Math.min(Math.max((now - start) / (finish - start), 0), 0.99); // never "done"
      const percent = onward(`estimate:${start}:${finish}`, Math.floor(share * 100), true);
      bar.value = percent;
      const figure = bar.closest(".estimate");
      const label = figure && figure.querySelector("[data-estimate-percent]");
      if (label) label.textContent = `≈ ${percent}%`;
    }
  }

  // --- Word when a job ends ------------------------------------------------------------------
  const states = new Map(); // job id -> the state this page last showed
  const SUFFIX = " · Lead finder";

  function watched(root) {
    const found = root.matches && root.matches("[data-job][data-state]") ? [root] : [];
    return found.concat(root.querySelectorAll ? [...root.querySelectorAll("[data-job][data-state]")] : []);
  }

  function remember(root) {
    for (const element of watched(root)) states.set(element.dataset.job, element.dataset.state);
  }

  function compare(root) {
    for (const element of watched(root)) {
      const job = element.dataset.job;
      const before = states.get(job);
      const now = element.dataset.state;
      states.set(job, now);
      const onJobPage = element.id === "progress";
      if (onJobPage && before !== now) show(element); // the job page's title always says its state
      if (before === undefined || before === now || !element.dataset.ending) continue;
      if (!onJobPage) show(element);
      notify(element);
    }
  }

  function show(element) {
    document.title = element.dataset.title + SUFFIX;
    const icon = document.getElementById("favicon");
    if (icon && element.dataset.favicon) icon.href = element.dataset.favicon;
  }

  function notify(element) {
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    const key = `notified:${element.dataset.endingKey}`;
    try {
      if (localStorage.getItem(key)) return; // another tab said it already
      localStorage.setItem(key, "1");
    } catch (error) {
      // storage refused (private mode): notify anyway, from this tab
    }
    const notice = new Notification(element.dataset.title, {
      body: element.dataset.meaning || "",
      tag: element.dataset.endingKey,
    });
    const link = element.id === "progress" ? null : element.querySelector("a[href]");
    notice.onclick = () => {
      window.focus();
      if (link) window.location.href = link.href;
      notice.close();
    };
  }

  // The button that asks, once, whether this browser may notify; never asked on load.
  function showNotifyControls(root) {
    const supported = "Notification" in window;
    for (const button of (root.querySelectorAll ? root.querySelectorAll("[data-notify-button]") : [])) {
      button.hidden = !supported || Notification.permission !== "default";
    }
    for (const note of (root.querySelectorAll ? root.querySelectorAll("[data-notify-state]") : [])) {
      if (!supported || Notification.permission === "default") {
        note.hidden = true;
        continue;
      }
      note.hidden = false;
      note.textContent =
        Notification.permission === "granted"
          ? "Browser notifications are on."
          : "Browser notifications are blocked for this site in your browser's settings.";
    }
  }
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("[data-notify-button]");
    if (!button || !("Notification" in window)) return;
    Promise.resolve(Notification.requestPermission()).then(() => showNotifyControls(document));
  });

  // --- New rows without losing the open ones ---------------------------------------------------
  // htmx keeps the focus of an element with an id; the rows a reader opened, and the CSV columns
  // they were ticking, are put back here when the progress brings new rows (an out-of-band swap).
  let kept = null;
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || (target.id !== "results-body" && target.id !== "results")) return;
    kept = {
      open: [...target.querySelectorAll("details[open][id]")].map((details) => details.id),
      // A person's whole profile open under their row: the row, and what it shows.
      panels: [...target.querySelectorAll("tr.panel-row[id]:not([hidden])")].map((row) => [
        row.id,
        row.firstElementChild ? row.firstElementChild.innerHTML : "",
      ]),
      columns: [...target.querySelectorAll("input[type=checkbox][id]")].map((box) => [box.id, box.checked]),
      ticked: [...target.querySelectorAll('input[name="person"]:checked')].map((box) => box.value),
    };
  });
  document.addEventListener("htmx:oobAfterSwap", () => {
    if (!kept) return;
    for (const id of kept.open) {
      const details = document.getElementById(id);
      if (details) details.open = true;
    }
    for (const [id, html] of kept.panels) {
      const row = document.getElementById(id);
      if (!row || !row.firstElementChild) continue;
      row.firstElementChild.innerHTML = html; // markup the server escaped when it sent it
      htmx.process(row);
      row.hidden = false;
      const link = document.querySelector(`a.lead-open[aria-controls="${id}"]`);
      if (link) link.setAttribute("aria-expanded", "true");
    }
    for (const [id, checked] of kept.columns) {
      const box = document.getElementById(id);
      if (box) box.checked = checked;
    }
    for (const value of kept.ticked) {
      const box = document.querySelector(`input[name="person"][value="${CSS.escape(value)}"]`);
      if (box) box.checked = true;
    }
    kept = null;
  });

  // --- Wiring ------------------------------------------------------------------------------
  document.addEventListener("htmx:afterSwap", (event) => {
    const root = event.target; // the new element (detail.elt is the one that asked, gone after outerHTML)
    if (!root || !root.isConnected) return;
    sample(root);
    compare(root);
    showNotifyControls(root);
    tick();
  });

  function start() {
    sample(document.body);
    remember(document.body);
    showNotifyControls(document);
    tick();
    setInterval(tick, 1000);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
