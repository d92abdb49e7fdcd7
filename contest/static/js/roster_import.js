// Live progress of a roster upload: polls getRosterImport and reloads the page when the upload
// moves on (checked, imported, refused). Without this script the page refreshes itself.
"use strict";
(() => {
  const box = document.getElementById("roster-import");
  const working = ["checking", "queued", "running"];
  if (!box || !working.includes(box.dataset.status)) return;
  const bar = document.getElementById("roster-progress");
  const count = document.getElementById("roster-count");
  async function poll() {
    try {
      const response = await fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" } });
      if (response.ok) {
        const job = await response.json();
        if (job.status !== box.dataset.status) {
          window.location.reload();
          return;
        }
        // Until the passwords are being hashed the total is unknown and the bar stays indeterminate.
        if (job.status === "running" && job.total) {
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
