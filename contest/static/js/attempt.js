// The attempt page: one question per screen, answer card, server-clock countdown, autosave with
// an offline queue, submit, and focus-loss (切屏) reports. Everything comes from the JSON API
// (getAttempt, saveAnswer, submitAttempt, reportIntegrityEvent, startAttempt).
//
// Saves: every change gets a per-attempt, strictly increasing seq (at least the server-corrected
// time in ms, above every seq used or seen before) and goes into a queue kept in localStorage,
// one entry per question (a newer change replaces an unsent older one). The queue is sent in seq
// order, one request at a time; a failed send waits for the `online` event or the next retry.
// On load, a local unsent answer wins over the server's only when its seq is higher.
// A save the server refuses (404/422) is not retried: the question shows as not saved until the
// contestant changes the answer again.
"use strict";
(() => {
  const root = document.getElementById("attempt");
  if (!root) return;
  const T = JSON.parse(document.getElementById("i18n").textContent);
  Object.assign(T, JSON.parse(document.getElementById("i18n-page").textContent));
  const $ = (id) => document.getElementById(id);
  const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const data = root.dataset;
  const device = window.NetSec.deviceId();
  const STORE = `netsec.attempt.${data.attemptId}`;
  const RETRY_MS = 4000;
  const DESKTOP = window.matchMedia("(min-width: 900px)");

  const flagButton = $("flag"); // moved into each question's header, so keep hold of it
  let csrf = data.csrfToken;
  let items = [];
  let current = 0;
  let offset = 0; // server clock − this device's clock, in ms
  let deadline = 0; // server time in ms
  let stopped = false; // no more saves: another device took over, or the attempt closed
  let finishing = false;
  let leaving = false;
  let confirming = false; // the window.confirm() fallback takes focus from the window: not away
  let warned = { five: false, one: false };
  const refused = new Set(); // positions whose last save the server refused

  // Local store ------------------------------------------------------------------------------

  function readStore() {
    try {
      const stored = JSON.parse(localStorage.getItem(STORE));
      if (stored && typeof stored.seq === "number" && stored.pending) return stored;
    } catch (error) { /* unreadable: start afresh */ }
    return { seq: 0, pending: {} };
  }
  const store = readStore();
  function persist() {
    try { localStorage.setItem(STORE, JSON.stringify(store)); } catch (error) { /* full or off */ }
  }
  function forget() {
    try {
      localStorage.removeItem(STORE);
      localStorage.removeItem(`${STORE}.hidden`);
    } catch (error) { /* nothing to do */ }
  }
  function nextSeq() {
    store.seq = Math.max(store.seq + 1, Math.floor(Date.now() + offset));
    return store.seq;
  }
  const pendingCount = () => Object.keys(store.pending).length;

  // API -------------------------------------------------------------------------------------

  async function refreshToken() {
    const response = await fetch(data.sessionUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
    if (response.ok) csrf = (await response.json()).csrf_token;
  }

  async function api(method, url, body, options = {}) {
    const send = () => {
      const headers = { Accept: "application/json" };
      if (device) headers["X-Device-Id"] = device;
      if (method !== "GET") headers["X-CSRFToken"] = csrf;
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(url, {
        method, headers, cache: "no-store", credentials: "same-origin",
        keepalive: Boolean(options.keepalive),
        signal: options.signal,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    };
    let response = await send();
    if (response.status === 403 && method !== "GET" && (await errorCode(response)) === "csrf_failed") {
      await refreshToken();
      response = await send();
    }
    return response;
  }

  async function errorCode(response) {
    try {
      const body = await response.clone().json();
      return body && body.error ? body.error.code : null;
    } catch (error) {
      return null;
    }
  }

  function goToResult() {
    if (leaving) return;
    leaving = true;
    stopped = true;
    forget();
    window.location.replace(data.resultUrl);
  }

  // Save state ------------------------------------------------------------------------------

  const saveState = $("save-state");
  function showState(state) {
    const labels = {
      saving: ["…", T.saving],
      saved: ["✓", T.saved],
      offline: ["⚠", fill(T.offline, { n: pendingCount() })],
      retrying: ["⚠", T.retrying],
      stopped: ["■", T.stopped],
      logged_out: ["⚠", T.logged_out],
      refused: ["⚠", T.not_saved],
    };
    const [icon, text] = labels[state];
    saveState.dataset.state = state;
    // A refused answer interrupts; the rest is announced politely.
    saveState.setAttribute("role", state === "refused" ? "alert" : "status");
    saveState.textContent = "";
    const mark = document.createElement("span");
    mark.className = "icon";
    mark.setAttribute("aria-hidden", "true");
    mark.textContent = icon;
    saveState.append(mark, " ", text);
  }

  function showBanner(text, takeOver) {
    $("banner-text").textContent = text;
    const button = $("take-over");
    button.hidden = !takeOver;
    button.textContent = T.take_over;
    $("banner").hidden = false;
  }

  // Saving ----------------------------------------------------------------------------------

  let flushing = null;
  let flushTimer = null;

  function queueSave(item, delay) {
    if (stopped || finishing) return;
    store.pending[item.position] = { answer: item.answer, flagged: item.flagged, seq: nextSeq() };
    refused.delete(item.position);
    persist();
    if (navigator.onLine === false) showState("offline");
    else showState("saving");
    clearTimeout(flushTimer);
    flushTimer = setTimeout(flush, delay);
  }

  function flush() {
    if (!flushing) flushing = sendQueue().finally(() => { flushing = null; });
    return flushing;
  }

  async function sendQueue() {
    while (!stopped) {
      const entries = Object.entries(store.pending).sort((a, b) => a[1].seq - b[1].seq);
      if (!entries.length) {
        showState(refused.size ? "refused" : "saved");
        return;
      }
      if (navigator.onLine === false) {
        showState("offline");
        return;
      }
      showState("saving");
      const [position, save] = entries[0];
      let response;
      try {
        response = await api("PUT", data.saveUrl + position, save);
      } catch (error) { // no connection
        showState("offline");
        return;
      }
      if (response.ok) {
        const body = await response.json();
        store.seq = Math.max(store.seq, body.seq);
        followDeadline(Date.parse(body.deadline_at));
        done(position, save.seq);
        continue;
      }
      const code = await errorCode(response);
      if (response.status === 409 && code === "device_replaced") {
        replaced();
        return;
      }
      if (response.status === 409) { // attempt_closed: time is up, or submitted elsewhere
        goToResult();
        return;
      }
      if (response.status === 401) {
        showState("logged_out");
        return;
      }
      if (response.status === 404 || response.status === 422) { // cannot ever be saved: no retry
        if (done(position, save.seq)) {
          refused.add(Number(position));
          const index = items.findIndex((item) => item.position === Number(position));
          if (index >= 0) updateCell(index);
          updateCount();
        }
        continue;
      }
      showState("retrying"); // 429 or a server error: try again later
      return;
    }
  }

  // Drops the sent entry unless a newer change replaced it; true when it was the latest.
  function done(position, seq) {
    const entry = store.pending[position];
    const latest = Boolean(entry && entry.seq === seq);
    if (latest) delete store.pending[position];
    persist();
    return latest;
  }

  window.addEventListener("online", () => { flush(); });
  window.addEventListener("offline", () => { if (pendingCount()) showState("offline"); });
  setInterval(() => { if (pendingCount() && !stopped) flush(); }, RETRY_MS);

  function replaced() {
    stopped = true;
    showState("stopped");
    showBanner(T.device_replaced, true);
    setControlsDisabled(true);
  }

  $("take-over").addEventListener("click", async () => {
    $("take-over").disabled = true;
    try {
      // Only resume: if the attempt has closed meanwhile, starting would begin a new one.
      const check = await api("GET", data.attemptUrl);
      if (check.ok && (await check.json()).status !== "in_progress") {
        goToResult();
        return;
      }
      const response = await api("POST", data.startUrl);
      if (response.ok) {
        const body = await response.json();
        if (String(body.id) === data.attemptId) {
          window.location.reload(); // unsent answers with a higher seq are merged on load
          return;
        }
      }
    } catch (error) { /* offline: let the user try again */ }
    $("take-over").disabled = false;
  });

  // Loading ---------------------------------------------------------------------------------

  async function load() {
    let response;
    const sent = Date.now();
    try {
      response = await api("GET", data.attemptUrl);
    } catch (error) {
      showBanner(T.loading_failed, false);
      setTimeout(load, RETRY_MS);
      return;
    }
    const received = Date.now();
    if (response.status === 401) {
      window.location.assign(data.loginUrl);
      return;
    }
    if (!response.ok) {
      showBanner(T.loading_failed, false);
      setTimeout(load, RETRY_MS);
      return;
    }
    const attempt = await response.json();
    $("banner").hidden = true;
    if (attempt.status !== "in_progress") {
      goToResult();
      return;
    }
    // The server's clock, not this phone's: offset from the middle of the round trip.
    offset = Date.parse(attempt.server_now) - (sent + received) / 2;
    deadline = Date.parse(attempt.deadline_at);
    items = attempt.items;
    for (const item of items) {
      store.seq = Math.max(store.seq, item.seq || 0);
      const local = store.pending[item.position];
      if (local && local.seq > (item.seq || 0)) {
        item.answer = local.answer;
        item.flagged = local.flagged;
      } else if (local) {
        delete store.pending[item.position];
      }
    }
    persist();
    const fromHash = /^#q(\d+)$/.exec(window.location.hash);
    current = fromHash ? Math.min(Math.max(Number(fromHash[1]) - 1, 0), items.length - 1) : 0;
    if (attempt.integrity_remaining !== null && attempt.integrity_remaining !== undefined) {
      showRemaining(attempt.integrity_remaining);
    }
    reportDiscardedAbsence();
    if (DESKTOP.matches) $("answer-card").open = true;
    setControlsDisabled(false);
    renderCard();
    show(current, false);
    tick();
    setInterval(tick, 500);
    if (attempt.held_here === false) {
      // Opened here (a bookmark, a new browser) while another device holds it: say so now,
      // with the button that takes it over, rather than at the first answer's save.
      replaced();
      return;
    }
    if (pendingCount()) flush();
    else showState("saved");
  }

  function setControlsDisabled(disabled) {
    for (const id of ["prev", "next", "submit"]) $(id).disabled = disabled;
    flagButton.disabled = disabled;
    for (const control of $("question").querySelectorAll("input, .ordering button")) {
      control.disabled = disabled;
    }
    if (!disabled) updateNav();
  }

  // Rendering -------------------------------------------------------------------------------

  const LETTERS = "ABCDEFGH";
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (key === "className") node.className = value;
      else if (key === "html") node.innerHTML = value; // server-sanitized Markdown
      else node.setAttribute(key, value);
    }
    node.append(...children);
    return node;
  };

  function isAnswered(item) {
    if (refused.has(item.position)) return false; // on screen only: the server does not have it
    const answer = item.answer;
    if (answer === null || answer === undefined) return false;
    if (Array.isArray(answer)) {
      return item.type === "fill_blank" ? answer.some((a) => a.trim() !== "") : answer.length > 0;
    }
    return true;
  }

  function show(index, focus) {
    current = index;
    const item = items[index];
    const box = $("question");
    box.textContent = "";
    box.dataset.type = item.type;
    box.dataset.position = item.position;
    box.setAttribute("aria-busy", "false");
    const headingId = `q${item.position}-title`;
    box.setAttribute("aria-labelledby", headingId);
    const heading = el("div", { className: "question-head" },
      el("h2", { id: headingId, className: "question-title" }, fill(T.question_n, { n: item.position })),
      flagButton);
    const meta = el("p", { className: "question-meta" },
      [T[`type_${item.type}`], fill(T.points, { n: item.points })].filter(Boolean).join(" · "));
    const stem = el("div", { className: "stem", html: item.stem_html, id: `q${item.position}-stem` });
    box.append(heading, meta, stem, renderAnswer(item));
    if (stopped || finishing) {
      for (const control of box.querySelectorAll("input, .ordering button")) control.disabled = true;
    }
    $("progress").textContent = fill(T.question_of, { n: item.position, total: items.length });
    history.replaceState(null, "", `#q${item.position}`);
    updateNav();
    updateCard();
    if (focus) {
      box.focus({ preventScroll: true });
      box.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  }

  function updateNav() {
    $("prev").disabled = stopped || current <= 0;
    $("next").disabled = stopped || current >= items.length - 1;
    const item = items[current];
    if (!item) return;
    flagButton.disabled = stopped;
    flagButton.setAttribute("aria-pressed", item.flagged ? "true" : "false");
    $("flag-text").textContent = item.flagged ? T.flagged : T.flag;
    $("submit").disabled = stopped;
  }

  function renderAnswer(item) {
    const name = `q${item.position}`;
    const describedBy = `${name}-stem`;
    if (item.type === "single" || item.type === "multiple") {
      const multiple = item.type === "multiple";
      const chosen = new Set(multiple ? item.answer || [] : item.answer ? [item.answer] : []);
      const set = el("fieldset", { className: "choices", "aria-describedby": describedBy });
      set.append(el("legend", {}, multiple ? T.multiple_hint : T.single_hint));
      item.options.forEach((option, i) => {
        const input = el("input", { type: multiple ? "checkbox" : "radio", name, value: option.id });
        input.checked = chosen.has(option.id);
        input.addEventListener("change", () => {
          if (multiple) {
            const picked = [...set.querySelectorAll("input:checked")].map((x) => x.value);
            item.answer = picked.length ? picked : null;
          } else {
            item.answer = option.id;
          }
          changed(item, 0);
        });
        set.append(el("label", { className: "choice" }, input,
          el("span", { className: "letter", "aria-hidden": "true" }, LETTERS[i] || ""),
          el("span", { className: "text", html: option.html })));
      });
      return set;
    }
    if (item.type === "true_false") {
      const set = el("fieldset", { className: "choices tf", "aria-describedby": describedBy });
      set.append(el("legend", {}, T.single_hint));
      for (const [value, label, icon] of [[true, T.true, "✓"], [false, T.false, "✗"]]) {
        const input = el("input", { type: "radio", name, value: String(value) });
        input.checked = item.answer === value;
        input.addEventListener("change", () => {
          item.answer = value;
          changed(item, 0);
        });
        set.append(el("label", { className: "choice big" }, input,
          el("span", { className: "letter", "aria-hidden": "true" }, icon),
          el("span", { className: "text" }, label)));
      }
      return set;
    }
    if (item.type === "fill_blank") {
      const box = el("div", { className: "blanks" });
      const count = Math.max(item.blanks || 0, 1);
      const values = Array.isArray(item.answer) ? item.answer : [];
      const inputs = [];
      for (let i = 0; i < count; i += 1) {
        const id = `${name}-blank-${i + 1}`;
        const input = el("input", {
          id, type: "text", autocomplete: "off", autocapitalize: "off", spellcheck: "false",
          maxlength: "500", enterkeyhint: "done", "aria-describedby": describedBy,
        });
        input.value = values[i] || "";
        inputs.push(input);
        const save = (delay) => {
          const answer = inputs.map((x) => x.value);
          item.answer = answer.some((a) => a.trim() !== "") ? answer : null;
          changed(item, delay);
        };
        // While an IME (pinyin) composes, the value is unfinished: save the committed text only.
        input.addEventListener("input", (event) => { if (!event.isComposing) save(700); });
        input.addEventListener("compositionend", () => save(700));
        input.addEventListener("change", () => save(0));
        box.append(el("div", { className: "field" },
          el("label", { for: id }, fill(T.blank_n, { n: i + 1 })), input));
      }
      return box;
    }
    return renderOrdering(item, describedBy);
  }

  function renderOrdering(item, describedBy) {
    const box = el("div", { className: "ordering" });
    const byId = new Map(item.options.map((o) => [o.id, o]));
    const order = Array.isArray(item.answer) && item.answer.length === item.options.length
      ? item.answer.slice() : item.options.map((o) => o.id);
    const hint = el("p", { className: "hint", id: `q${item.position}-hint` }, T.ordering_hint);
    const status = el("p", { className: "order-status", role: "status" },
      item.answer ? T.ordering_answered : T.ordering_unanswered);
    const list = el("ol", { className: "order-list", "aria-describedby": `${describedBy} q${item.position}-hint` });
    const keep = el("button", { type: "button", className: "keep-order" }, T.ordering_keep);
    keep.hidden = Boolean(item.answer);
    keep.addEventListener("click", () => {
      item.answer = order.slice();
      keep.hidden = true;
      status.textContent = T.ordering_answered;
      changed(item, 0);
    });

    function move(from, to, focusClass) {
      if (to < 0 || to >= order.length) return;
      const [id] = order.splice(from, 1);
      order.splice(to, 0, id);
      item.answer = order.slice();
      keep.hidden = true;
      draw();
      status.textContent = `${fill(T.moved_to, { n: to + 1 })} ${T.ordering_answered}`;
      const target = list.children[to].querySelector(`.${focusClass}`);
      (target.disabled ? list.children[to].querySelector("button:not([disabled])") : target).focus();
      changed(item, 0);
    }

    function draw() {
      list.textContent = "";
      order.forEach((id, index) => {
        const option = byId.get(id);
        const text = el("span", { className: "text", html: option.html });
        const plain = text.textContent;
        const up = el("button", { type: "button", className: "up", "aria-label": fill(T.move_up, { text: plain }) }, "↑");
        const down = el("button", { type: "button", className: "down", "aria-label": fill(T.move_down, { text: plain }) }, "↓");
        up.disabled = stopped || index === 0;
        down.disabled = stopped || index === order.length - 1;
        up.addEventListener("click", () => move(index, index - 1, "up"));
        down.addEventListener("click", () => move(index, index + 1, "down"));
        list.append(el("li", { "data-option": id },
          el("span", { className: "rank", "aria-hidden": "true" }, String(index + 1)), text,
          el("span", { className: "moves" }, up, down)));
      });
    }
    draw();
    box.append(hint, list, status, keep);
    return box;
  }

  function changed(item, delay) {
    queueSave(item, delay);
    updateCell(items.indexOf(item));
    updateCount();
  }

  // Answer card -----------------------------------------------------------------------------

  function renderCard() {
    const grid = $("card-grid");
    grid.textContent = "";
    items.forEach((item, index) => {
      const button = el("button", { type: "button", className: "cell" },
        el("span", { className: "num" }, String(item.position)),
        el("span", { className: "mark", "aria-hidden": "true" }),
        el("span", { className: "flag-mark", "aria-hidden": "true" }));
      button.addEventListener("click", () => {
        show(index, true);
        if (!DESKTOP.matches) $("answer-card").open = false;
      });
      grid.append(el("li", {}, button));
    });
    updateCard();
  }

  function updateCell(index) {
    const li = $("card-grid").children[index];
    if (!li) return;
    const item = items[index];
    const button = li.firstChild;
    const answered = isAnswered(item);
    button.dataset.state = answered ? "answered" : "unanswered";
    button.dataset.flagged = item.flagged ? "true" : "false";
    button.querySelector(".mark").textContent = answered ? "✓" : "";
    button.querySelector(".flag-mark").textContent = item.flagged ? "⚑" : "";
    let label = fill(answered ? T.card_answered : T.card_unanswered, { n: item.position });
    if (item.flagged) label += T.list_sep + T.card_flagged;
    button.setAttribute("aria-label", label);
    if (index === current) button.setAttribute("aria-current", "step");
    else button.removeAttribute("aria-current");
  }

  function updateCount() {
    const answered = items.filter(isAnswered).length;
    $("card-count").textContent = fill(T.card_count, { answered, total: items.length });
  }

  function updateCard() {
    items.forEach((_, index) => updateCell(index));
    updateCount();
  }

  // Navigation and flag ---------------------------------------------------------------------

  $("prev").addEventListener("click", () => { if (current > 0) show(current - 1, true); });
  $("next").addEventListener("click", () => { if (current < items.length - 1) show(current + 1, true); });
  flagButton.addEventListener("click", () => {
    const item = items[current];
    item.flagged = !item.flagged;
    updateNav();
    changed(item, 0);
  });

  // Countdown -------------------------------------------------------------------------------

  function clock(ms) {
    const total = Math.max(0, Math.ceil(ms / 1000));
    const h = Math.floor(total / 3600);
    const m = Math.floor((total % 3600) / 60);
    const s = total % 60;
    const mm = String(m).padStart(h ? 2 : 1, "0");
    return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
  }

  function tick() {
    if (!deadline) return;
    const left = deadline - (Date.now() + offset);
    const countdown = $("countdown");
    countdown.textContent = clock(left);
    const timer = countdown.closest(".timer");
    timer.dataset.urgency = left <= 60000 ? "last-minute" : left <= 300000 ? "low" : "normal";
    if (left <= 300000 && !warned.five && left > 60000) {
      warned.five = true;
      $("announce").textContent = T.five_minutes;
    }
    if (left <= 60000 && !warned.one && left > 0) {
      warned.one = true;
      $("announce").textContent = T.one_minute;
    }
    if (left <= 0) deadlineReached();
  }

  // Submitting ------------------------------------------------------------------------------

  const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

  async function flushWithin(ms) {
    const until = Date.now() + ms;
    while (pendingCount() && !stopped && Date.now() < until) {
      await flush();
      if (pendingCount()) await sleep(500);
    }
    return pendingCount() === 0;
  }

  // The organizers may move the round's close or duration while the page counts down. Every
  // save answers with the attempt's deadline; a page that has not heard from the server for a
  // minute, comes back into view or reaches its deadline asks getAttemptClock.
  const CLOCK_IDLE_MS = 60000;
  let lastHeard = Date.now();

  function followDeadline(moved) {
    lastHeard = Date.now();
    if (!moved || !deadline || moved === deadline || finishing) return;
    const left = moved - (Date.now() + offset);
    deadline = moved;
    // Say it once, with the time now left (the 5- and 1-minute notices follow from here).
    warned.five = left <= 300000;
    warned.one = left <= 60000;
    const text = fill(T.deadline_moved, { left: clock(left) });
    $("announce").textContent = text;
    if (left > 0 && !stopped) { // (a take-over banner stays as it is)
      showBanner(text, false);
      setTimeout(() => { if ($("banner-text").textContent === text) $("banner").hidden = true; }, 15000);
    }
    tick();
  }

  // The attempt's clock from the server: {status, deadline_at}, or null when it cannot be had.
  async function askClock() {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 10000); // a hung request must not stop asking
    try {
      const response = await api("GET", data.clockUrl, undefined, { signal: abort.signal });
      if (!response.ok) return null;
      return await response.json();
    } catch (error) {
      return null; // offline, or no answer in time
    } finally {
      clearTimeout(timer);
    }
  }

  let asking = false;
  async function syncClock() {
    if (asking || finishing || leaving || stopped || !deadline) return;
    asking = true;
    lastHeard = Date.now(); // asked: a failing server is asked again in a minute, not at once
    const now = await askClock();
    asking = false;
    if (!now) return;
    if (now.status !== "in_progress") {
      goToResult();
      return;
    }
    followDeadline(Date.parse(now.deadline_at));
  }

  setInterval(() => { if (Date.now() - lastHeard > CLOCK_IDLE_MS) syncClock(); }, 5000);
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") syncClock();
  });

  // At the deadline this page knows: saves go on while it asks; when the attempt still has time
  // the timer runs on, otherwise (or when the server cannot be asked twice) the page submits.
  let checkingDeadline = false;

  async function deadlineReached() {
    if (checkingDeadline || finishing || leaving) return;
    checkingDeadline = true;
    let now = null;
    for (let tries = 0; tries < 2 && now === null; tries += 1) now = await askClock();
    checkingDeadline = false;
    const moved = now ? Date.parse(now.deadline_at) : 0;
    if (now && now.status === "in_progress" && moved > Date.now() + offset) followDeadline(moved);
    else finish(true);
  }

  async function finish(atDeadline) {
    if (finishing || leaving) return;
    finishing = true;
    setControlsDisabled(true);
    showBanner(atDeadline ? T.time_up : T.submitting, false);
    if (!stopped) await flushWithin(atDeadline ? 8000 : 15000);
    for (;;) {
      try {
        const response = await api("POST", data.submitUrl);
        if (response.status === 401) {
          window.location.assign(data.loginUrl);
          return;
        }
        if (response.ok || response.status === 404 || response.status === 409) break;
      } catch (error) { /* offline: the server submits at the deadline anyway; keep trying */ }
      await sleep(2000);
    }
    goToResult();
  }

  const dialog = $("confirm");
  $("submit").addEventListener("click", () => {
    const missing = items.filter((item) => !isAnswered(item)).map((item) => item.position);
    const text = $("confirm-text");
    text.textContent = "";
    text.append(el("p", { "data-testid": "unanswered" }, missing.length
      ? fill(T.confirm_unanswered, { list: missing.join(T.list_sep) })
      : T.confirm_all));
    if (pendingCount() && navigator.onLine === false) text.append(el("p", { className: "error" }, T.not_synced));
    text.append(el("p", {}, T.confirm_final));
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
      $("confirm-cancel").focus();
    } else {
      confirming = true;
      const ok = window.confirm(text.textContent);
      setTimeout(() => { confirming = false; }, 0); // after the blur and focus it caused
      if (ok) submitNow();
    }
  });
  $("confirm-cancel").addEventListener("click", () => dialog.close());
  $("confirm-ok").addEventListener("click", () => {
    dialog.close();
    submitNow();
  });

  async function submitNow() {
    if (pendingCount() && !stopped) {
      await flushWithin(5000);
      if (pendingCount()) { // still offline: never drop unsent answers by submitting
        showBanner(T.not_synced, false);
        return;
      }
    }
    finish(false);
  }

  // Focus loss (切屏) -----------------------------------------------------------------------

  let hiddenAt = null;
  let reports = Promise.resolve();
  const unsentVisible = [];

  function showRemaining(n) {
    const box = $("integrity");
    box.textContent = fill(T.switches_left, { n });
    box.dataset.last = n === 0 ? "true" : "false";
    box.hidden = false;
  }

  async function report(body) {
    let response;
    try {
      response = await api("POST", data.integrityUrl, body, { keepalive: body.kind === "hidden" });
    } catch (error) {
      if (body.kind === "visible") unsentVisible.push(body);
      return;
    }
    if (!response.ok) return;
    const result = await response.json();
    if (result.action === "submit" || result.action === "void" || result.status !== "in_progress") {
      goToResult();
      return;
    }
    if (result.remaining !== null && result.remaining !== undefined) showRemaining(result.remaining);
    if (result.action === "warn") showBanner(T.integrity_warn, false);
  }

  // A reload or navigation hides the page too: that is not leaving the contest.
  let unloading = false;
  window.addEventListener("pagehide", () => { unloading = true; });
  window.addEventListener("pageshow", () => { unloading = false; });
  const HIDDEN = `${STORE}.hidden`;

  // One absence is one "hidden" and one "visible" report, whichever signal comes first: the tab
  // or app hidden (visibilitychange), or, on desktops, the window losing focus (blur/focus).
  let away = false;

  function wentAway() {
    if (away || leaving || unloading || !items.length) return;
    away = true;
    hiddenAt = Date.now();
    // If the phone discards this page while away, the next load reports the return.
    try { localStorage.setItem(HIDDEN, String(hiddenAt)); } catch (error) { /* off */ }
    const body = { kind: "hidden" };
    reports = reports.then(() => report(body));
  }

  function cameBack() {
    if (!away || leaving || unloading || !items.length) return;
    away = false;
    const body = { kind: "visible" };
    if (hiddenAt !== null) body.duration_ms = Math.max(0, Date.now() - hiddenAt);
    hiddenAt = null;
    try { localStorage.removeItem(HIDDEN); } catch (error) { /* off */ }
    reports = reports.then(() => report(body));
    flush();
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") wentAway();
    else cameBack();
  });
  // Only the window's own blur: focus moving between elements (or into the <dialog>) does not
  // reach these listeners, since blur and focus do not bubble.
  window.addEventListener("blur", (event) => {
    if (event.target !== window || confirming || document.visibilityState === "hidden") return;
    if (document.activeElement instanceof HTMLIFrameElement) return; // focus went into the page
    wentAway();
  });
  window.addEventListener("focus", (event) => {
    if (event.target !== window || document.visibilityState === "hidden") return;
    cameBack();
  });

  function reportDiscardedAbsence() {
    let since = null;
    try {
      since = Number(localStorage.getItem(HIDDEN)) || null;
      localStorage.removeItem(HIDDEN);
    } catch (error) { /* off */ }
    if (since !== null && document.visibilityState === "visible") {
      const body = { kind: "visible", duration_ms: Math.max(0, Date.now() - since) };
      reports = reports.then(() => report(body));
    }
  }
  window.addEventListener("online", () => {
    while (unsentVisible.length) {
      const body = unsentVisible.shift();
      reports = reports.then(() => report(body));
    }
  });

  load();
})();
