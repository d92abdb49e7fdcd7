// Live preview of a question while it is edited: the server renders (and sanitizes) Markdown.
"use strict";
(() => {
  const form = document.getElementById("question-form");
  const target = document.getElementById("preview");
  if (!form || !target) return;
  const token = form.querySelector("input[name=csrf_token]").value;
  let timer = null;
  let sequence = 0;
  function payload() {
    const options = [];
    for (const letter of "abcdefgh") {
      const input = form.querySelector(`#option_${letter}`);
      if (input && input.value.trim()) options.push(input.value);
    }
    const type = form.querySelector("#type").value;
    return {
      stem: form.querySelector("#stem").value,
      options: ["true_false", "fill_blank"].includes(type) ? [] : options,
      explanation: form.querySelector("#explanation").value,
    };
  }
  async function refresh() {
    const mine = ++sequence;
    const response = await fetch(form.dataset.previewUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": token },
      body: JSON.stringify(payload()),
    });
    if (!response.ok || mine !== sequence) return;
    const html = await response.json();
    // The server returns sanitized HTML (nh3 allow-list), so it is safe to insert.
    const items = html.options.map((o) => `<li>${o}</li>`).join("");
    target.innerHTML = `<div class="stem">${html.stem}</div>` +
      (items ? `<ol class="option-list" type="A">${items}</ol>` : "") +
      (html.explanation ? `<div class="explanation">${html.explanation}</div>` : "");
  }
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 250); });
  refresh();
})();

// The image field: upload without leaving the page, then put ![description](/media/…) into the
// text last edited (the stem by default) at its cursor. Without script the form opens a page.
(() => {
  const upload = document.getElementById("image-form");
  const form = document.getElementById("question-form");
  const status = document.getElementById("image-status");
  if (!upload || !form || !status) return;
  let target = form.querySelector("#stem");
  form.addEventListener("focusin", (event) => {
    const node = event.target;
    if (node.matches("#stem, #explanation, [id^=option_]")) target = node;
  });
  upload.addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = document.getElementById("image-file");
    if (!file.files.length) return;
    const body = new FormData(upload);
    status.textContent = "…";
    let reply = null;
    try {
      const response = await fetch(upload.action, {
        method: "POST", body, headers: { Accept: "application/json" },
      });
      reply = await response.json();
    } catch (error) { reply = { error: { message: String(error) } }; }
    if (!reply.markdown) {
      status.textContent = reply.error ? reply.error.message : "";
      status.classList.add("error");
      return;
    }
    status.classList.remove("error");
    status.textContent = reply.markdown;
    const at = target.selectionStart ?? target.value.length;
    const end = target.selectionEnd ?? at;
    const glue = target.tagName === "TEXTAREA" && at > 0 ? "\n" : " ";
    target.value = target.value.slice(0, at) + (at > 0 ? glue : "") + reply.markdown +
      target.value.slice(end);
    target.dispatchEvent(new Event("input", { bubbles: true }));
    file.value = "";
  });
})();
