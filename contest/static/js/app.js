// Small progressive enhancements; every page works without this file.
"use strict";

// This browser's device id (random, kept in localStorage): the server lets one device at a time
// save answers to an attempt. The attempt page sends it as X-Device-Id, forms as device_id.
window.NetSec = window.NetSec || {};
window.NetSec.deviceId = (() => {
  const KEY = "netsec.device";
  return () => {
    try {
      let id = localStorage.getItem(KEY);
      if (!id) {
        const bytes = new Uint8Array(16);
        crypto.getRandomValues(bytes); // works on plain http too, unlike crypto.randomUUID
        id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
        localStorage.setItem(KEY, id);
      }
      return id;
    } catch (error) {
      // Storage is off: an id that changed with every page would lock this browser out of its
      // own attempt, so send none (the server then does not tell devices apart).
      return "";
    }
  };
})();

document.addEventListener("DOMContentLoaded", () => {
  // Forms that cannot be taken back ask first (data-confirm holds the question).
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // Disable a submitted form's buttons so a double tap does not post twice.
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      for (const button of form.querySelectorAll("button[type=submit]")) {
        setTimeout(() => { button.disabled = true; }, 0);
      }
    });
  }
  // Forms that start or resume an attempt say which device this is.
  for (const input of document.querySelectorAll("input[name=device_id]")) {
    input.value = window.NetSec.deviceId();
  }
});
