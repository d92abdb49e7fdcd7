// The organizers' list of a round's attempts: it refreshes the part it shows (summary, rows,
// pager) without a reload. Every few seconds while the page is in view it asks the server for
// that part with the ETag of what it has; an unchanged page answers 304 and nothing moves.
// Between refreshes the time left counts down here. Without this script the page still works:
// it shows what was true when it loaded.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const live = document.getElementById("attempts-live");
  if (!live || !window.fetch) return;
  const url = live.dataset.liveUrl;
  const every = Math.max(2, Number(live.dataset.refreshS) || 5) * 1000;
  const state = document.getElementById("live-state");
  let etag = null;
  let loadedAt = Date.now();
  let busy = false;

  function clock(seconds) {
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = seconds % 60;
    const mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function tick() {
    const gone = Math.floor((Date.now() - loadedAt) / 1000);
    for (const cell of live.querySelectorAll("[data-seconds-left]")) {
      cell.textContent = clock(Math.max(0, Number(cell.dataset.secondsLeft) - gone));
    }
  }

  async function refresh() {
    if (busy || document.visibilityState !== "visible") return;
    busy = true;
    try {
      const headers = { Accept: "text/html" };
      if (etag) headers["If-None-Match"] = etag;
      const response = await fetch(url, { headers, credentials: "same-origin", cache: "no-store" });
      if (response.status === 200) {
        etag = response.headers.get("ETag");
        const html = await response.text();
        live.setAttribute("aria-busy", "true");
        live.innerHTML = html;
        live.setAttribute("aria-busy", "false");
        loadedAt = Date.now();
        live.dataset.refreshedAt = String(loadedAt);
      } else if (response.status === 304) {
        etag = response.headers.get("ETag") || etag;
      }
      if (state) state.hidden = response.status !== 200 && response.status !== 304;
    } catch (error) {
      if (state) state.hidden = true; // offline: try again at the next turn
    } finally {
      busy = false;
    }
  }

  if (state) state.hidden = false;
  setInterval(tick, 1000);
  setInterval(refresh, every);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") refresh();
  });
});
