// The statistics report page: while the worker computes the report, poll getContestReport,
// show its progress, and reload once it is ready (the server then renders the report).
"use strict";
(() => {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  const box = document.getElementById("report-state");
  if (!box || !["queued", "running"].includes(box.dataset.status)) return;
  const bar = document.getElementById("report-progress");
  const count = document.getElementById("report-count");
  const status = document.getElementById("report-status");
  let delay = 800;
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, {
        headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin",
      });
      if (response.status === 200 || [401, 403, 404].includes(response.status)) {
        window.location.reload();
        return;
      }
      if (response.status === 202) {
        const state = await response.json();
        if (state.status === "failed") { window.location.reload(); return; }
        if (state.status === "running" && status) status.textContent = status.dataset.running;
        if (state.total && bar) {
          bar.max = state.total;
          bar.value = state.done;
          count.textContent = `${state.done} / ${state.total}`;
        }
      }
    } catch (error) { /* the network hiccuped: try again */ }
    delay = Math.min(delay * 1.3, 5000);
    setTimeout(poll, delay);
  }
  setTimeout(poll, delay);
})();
