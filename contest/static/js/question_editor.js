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
