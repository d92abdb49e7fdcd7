// An export's status page: the progress bar follows getExport, and the page reloads (showing the
// download link or the error) once the export is no longer queued or running. Without this
// script the page refreshes itself.
"use strict";
(() => {
  const box = document.getElementById("export-job");
  if (!box || !["queued", "running"].includes(box.dataset.status)) return;
  const bar = document.getElementById("export-progress");
  const count = document.getElementById("export-count");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        if (!["queued", "running"].includes(job.status)) {
          window.location.reload();
          return;
        }
        if (job.total) {
          bar.max = job.total;
          bar.value = job.done;
          count.textContent = `${job.done} / ${job.total}`;
        }
      } else if ([401, 403, 404].includes(response.status)) {
        window.location.reload();
        return;
      }
    } catch (error) { /* the network hiccuped: try again */ }
    setTimeout(poll, 700);
  }
  setTimeout(poll, 300);
})();
