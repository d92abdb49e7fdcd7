// Live progress of an import: polls getImport and reloads the page when the import ends.
"use strict";
(() => {
  const box = document.getElementById("import");
  if (!box || !["queued", "running"].includes(box.dataset.status)) return;
  const bar = document.getElementById("import-progress");
  const count = document.getElementById("import-count");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        if (job.total) { bar.max = job.total; bar.value = job.done; }
        count.textContent = `${job.done} / ${job.total}`;
        if (job.status === "succeeded" || job.status === "failed") { window.location.reload(); return; }
      }
    } catch (error) { /* the network hiccuped: try again */ }
    setTimeout(poll, 700);
  }
  setTimeout(poll, 300);
})();
