// The sign-up form: show the "other unit" field only while "其他" is chosen. Without this file
// the field stays visible, with its label saying when to fill it.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const select = document.getElementById("organization");
  const other = document.getElementById("field-unit_other");
  if (!select || !other) return;
  const input = other.querySelector("input");
  const sync = () => {
    const chosen = select.value === select.dataset.other;
    other.hidden = !chosen && !other.classList.contains("invalid");
    if (input) input.required = chosen;
  };
  select.addEventListener("change", sync);
  sync();
});
