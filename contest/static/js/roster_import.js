// The roster upload's page: live progress, and the passwords' one download.
// Progress polls getRosterImport and reloads the page when the upload moves on (checked,
// imported, refused); without this script the page refreshes itself. Once the passwords form is
// sent, its box says they are downloaded (without the script a reload says so).
"use strict";
(() => {
  const passwords = document.getElementById("passwords-box");
  const download = passwords && passwords.querySelector("form");
  if (download) {
    download.addEventListener("submit", () => {
      // After the submission has started: a form taken out of the page would not be sent.
      setTimeout(() => {
        const done = document.createElement("p");
        done.id = "passwords-downloaded";
        done.setAttribute("role", "status");
        done.textContent = passwords.dataset.downloaded;
        passwords.replaceChildren(done);
      }, 0);
    });
  }

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
