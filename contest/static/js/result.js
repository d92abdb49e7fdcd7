// The result page: while the score is being worked out (评分中…), poll getAttemptResult and
// reload the page when it is ready, so the server renders the score (and the review, when open).
"use strict";
(() => {
  const box = document.getElementById("result");
  if (!box || box.dataset.pending !== "true") return;
  let delay = 1500;
  async function poll() {
    try {
      const response = await fetch(box.dataset.resultUrl, {
        headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin",
      });
      if (response.ok) {
        const result = await response.json();
        if (result.score !== null || result.status !== "submitted") {
          window.location.reload();
          return;
        }
      } else if ([401, 403, 404].includes(response.status)) {
        window.location.reload(); // logged out or gone: the page itself explains it
        return;
      }
    } catch (error) { /* offline for a moment: try again */ }
    delay = Math.min(delay * 1.5, 10000);
    setTimeout(poll, delay);
  }
  setTimeout(poll, delay);
})();
