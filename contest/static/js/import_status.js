// Live progress of an import: polls getImport and reloads the page when the import ends.
"use strict";
(() => {
  const box = document.getElementById("import");
  if (!box || !["queued", "running"].includes(box.dataset.status)) return;
  const bar = document.getElementById("import-progress");
  const count = document.getElementById("import-count");
  const status = document.getElementById("import-status");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        if (job.status === "succeeded" || job.status === "failed") { window.location.reload(); return; }
        if (job.status === "running" && box.dataset.status !== "running") {
          box.dataset.status = "running";
          status.textContent = status.dataset.running;
        }
        // Until the file is checked the total is unknown and the bar stays indeterminate.
        if (job.total) {
          bar.max = job.total;
          bar.value = job.done;
          count.textContent = `${job.done} / ${job.total}`;
        }
      } else if ([401, 403, 404].includes(response.status)) {
        // Logged out, or the import is gone: the page itself explains it.
        window.location.reload();
        return;
      }
    } catch (error) { /* the network hiccuped: try again */ }
    setTimeout(poll, 700);
  }
  setTimeout(poll, 300);
})();
