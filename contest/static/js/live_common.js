// The live final's shared parts, used by live_host.js, live_team.js and live_screen.js:
// the connection to the round's state stream, the server clock, the countdown, the standings
// list and how answers are written.
//
// Connection: an EventSource on the page's data-stream-url (`event: state`, the audience's view
// as JSON, sent at connect and on every change). While it is down the browser reconnects by
// itself and the page asks data-state-url (the same view) every few seconds meanwhile; a stream
// that failed for good (a 4xx, or the server gone) is opened again after a pause.
//
// Clock: each view carries server_now. A view reaches the device some time after server_now
// (and a view served from the server's cache was made earlier still), so every sample of
// "server − device" errs on the low side: the highest recent sample is the best estimate.
//
// Elements it fills, when the page has them: #connection (data-state: connecting, live,
// reconnecting, offline, logged_out, gone), #countdown (data-state: idle, running, low, over,
// paused; its text is whole seconds left), #standings (li[data-team-id][data-rank], children
// .st-rank, .st-name, .st-org, .st-score).
"use strict";
window.Live = (() => {
  const LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  const POLL_MS = 3000; // while the stream is down
  const REOPEN_MS = 5000; // after the stream failed for good
  const CLOCK_SAMPLES_MS = 5 * 60 * 1000;
  const LOW_S = 5; // the countdown's last seconds stand out
  const MOVE_MS = 700;

  // Words and small DOM helpers ----------------------------------------------------------------

  function strings(root) {
    try {
      return JSON.parse(root.dataset.strings || "{}");
    } catch (error) {
      return {};
    }
  }

  const fill = (text, vars) =>
    String(text ?? "").replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "className") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key === "html") node.innerHTML = value; // server-sanitized Markdown only
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "hidden" || key === "disabled") node[key] = Boolean(value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function setText(node, text) {
    if (node && node.textContent !== text) node.textContent = text;
  }

  function show(node, shown) {
    if (node) node.hidden = !shown;
  }

  const byId = (id) => document.getElementById(id);

  function teamNames(view) {
    const names = new Map();
    for (const team of view.teams || []) names.set(Number(team.id), team.name);
    return names;
  }

  function segmentOf(view, id) {
    return (view.segments || []).find((segment) => segment.id === id) || null;
  }

  function signed(T, points) {
    return fill(T.points, { n: points > 0 ? `+${points}` : String(points) });
  }

  // Answers, as the screens write them: options as A, B, C… (bank order) ------------------------

  function letter(index) {
    return Number.isInteger(index) ? LETTERS[index] || String(index + 1) : "?";
  }

  // A device's answer (or, with key=true, a question's key) as text.
  function answerText(T, type, value, key = false) {
    if (value === null || value === undefined) return "—";
    switch (type) {
      case "single":
        return letter(value);
      case "multiple":
        return Array.isArray(value) ? value.map(letter).join("") : "?";
      case "true_false":
        return value === true ? T.true : value === false ? T.false : "?";
      case "ordering":
        return Array.isArray(value) ? value.map(letter).join(" → ") : "?";
      case "fill_blank":
        if (!Array.isArray(value)) return String(value);
        return value
          .map((blank) => (key && Array.isArray(blank) ? blank.join(" / ") : String(blank)))
          .join(T.blank_sep || "; ");
      default:
        return JSON.stringify(value);
    }
  }

  // The options a key marks right: indexes (single, multiple; ordering marks none).
  function keyIndexes(question) {
    if (!question || question.answer === undefined) return new Set();
    if (question.type === "single") return new Set([question.answer]);
    if (question.type === "multiple" && Array.isArray(question.answer)) return new Set(question.answer);
    return new Set();
  }

  // Blanks in a fill-in stem, as the bank counts them (two or more underscores, empty brackets).
  function blankCount(stemHtml) {
    const text = el("div", { html: stemHtml || "" }).textContent;
    const found = text.match(/_{2,}|（\s*）|\(\s*\)/g);
    return Math.max(1, found ? found.length : 0);
  }

  // Server clock and countdown -----------------------------------------------------------------

  const samples = [];
  let offset = 0;

  function observe(serverNow) {
    const server = Date.parse(serverNow);
    if (Number.isNaN(server)) return;
    const at = Date.now();
    samples.push({ at, offset: server - at });
    while (samples.length > 1 && at - samples[0].at > CLOCK_SAMPLES_MS) samples.shift();
    offset = Math.max(...samples.map((sample) => sample.offset));
  }

  const serverNow = () => Date.now() + offset;

  // Milliseconds left on the step's clock; null when no clock runs.
  function remainingMs(step) {
    if (!step) return null;
    if (step.deadline_at) return Math.max(0, Date.parse(step.deadline_at) - serverNow());
    if (step.remaining_ms !== null && step.remaining_ms !== undefined) return step.remaining_ms;
    return null;
  }

  // Keeps #countdown (or `element`) in step with the step that `current()` returns.
  function countdown(element, current, onTick) {
    if (!element) return;
    const tick = () => {
      const step = current();
      const left = remainingMs(step);
      const paused = Boolean(step && !step.deadline_at && step.remaining_ms !== null && step.remaining_ms !== undefined);
      if (left === null) {
        element.dataset.state = "idle";
        element.hidden = true;
      } else {
        const seconds = Math.ceil(left / 1000);
        element.hidden = false;
        setText(element, String(seconds));
        element.dataset.state = paused ? "paused" : seconds <= 0 ? "over" : seconds <= LOW_S ? "low" : "running";
      }
      if (onTick) onTick(left);
    };
    tick();
    setInterval(tick, 200);
  }

  // Connection --------------------------------------------------------------------------------

  function setConnection(state, T) {
    const box = byId("connection");
    if (!box || box.dataset.state === state) return;
    box.dataset.state = state;
    box.textContent = T[state] || state;
  }

  // Follows the stream; `onState(view)` gets every view, stream or fallback alike.
  function connect({ streamUrl, stateUrl, onState, T, onPing = null }) {
    let source = null;
    let pollTimer = null;
    let streaming = false;

    function deliver(view) {
      if (view && view.server_now) observe(view.server_now);
      onState(view);
    }

    async function fetchState() {
      try {
        const response = await fetch(stateUrl, {
          headers: { Accept: "application/json" }, cache: "no-store", credentials: "same-origin",
        });
        if (response.status === 401 || response.redirected) {
          setConnection("logged_out", T);
          return false;
        }
        if (response.status === 404) {
          setConnection("gone", T);
          return false;
        }
        if (!response.ok) return false;
        deliver(await response.json());
        return true;
      } catch (error) {
        return false; // offline for a moment
      }
    }

    function poll() {
      clearTimeout(pollTimer);
      pollTimer = setTimeout(async () => {
        if (streaming) return;
        const ok = await fetchState();
        if (!streaming && ok) setConnection("reconnecting", T);
        else if (!streaming && navigator.onLine === false) setConnection("offline", T);
        if (!streaming) poll();
      }, POLL_MS);
    }

    function open() {
      if (!("EventSource" in window)) {
        fetchState().then(poll);
        return;
      }
      source = new EventSource(streamUrl);
      source.addEventListener("state", (event) => {
        streaming = true;
        clearTimeout(pollTimer);
        setConnection("live", T);
        try {
          deliver(JSON.parse(event.data));
        } catch (error) { /* a torn event: the next one repairs it */ }
      });
      if (onPing) source.addEventListener("ping", (event) => onPing(event.data));
      source.addEventListener("error", () => {
        streaming = false;
        setConnection(navigator.onLine === false ? "offline" : "reconnecting", T);
        fetchState().then(poll); // the state now, whatever the stream does
        if (source.readyState === EventSource.CLOSED) {
          source.close();
          setTimeout(open, REOPEN_MS);
        }
      });
    }

    setConnection("connecting", T);
    fetchState();
    open();
    window.addEventListener("online", () => fetchState());
    window.addEventListener("pagehide", () => source && source.close());
    return { refresh: fetchState };
  }

  // Posting: JSON with the CSRF token, fetched again once when it has expired -------------------

  function poster(root) {
    let token = root.dataset.csrfToken || "";
    const sessionUrl = root.dataset.sessionUrl;

    async function refreshToken() {
      try {
        const response = await fetch(sessionUrl, { headers: { Accept: "application/json" }, cache: "no-store" });
        if (response.ok) token = (await response.json()).csrf_token;
      } catch (error) { /* offline: the retry fails and says so */ }
    }

    // {ok, status, body}; a network failure is status 0.
    return async function post(url, body) {
      const send = () => fetch(url, {
        method: "POST",
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": token },
        credentials: "same-origin",
        cache: "no-store",
        body: JSON.stringify(body),
      });
      try {
        let response = await send();
        let data = await response.json().catch(() => null);
        if (response.status === 403 && data && data.error && data.error.code === "csrf_failed") {
          await refreshToken();
          response = await send();
          data = await response.json().catch(() => null);
        }
        return { ok: response.ok, status: response.status, body: data };
      } catch (error) {
        return { ok: false, status: 0, body: null };
      }
    };
  }

  function errorMessage(result, fallback) {
    return (result.body && result.body.error && result.body.error.message) || fallback;
  }

  // Standings: rows keyed by team, moved to their new place with a transform transition --------

  function standingRow() {
    return el("li", { className: "standing" },
      el("span", { className: "st-rank" }),
      el("span", { className: "st-who" },
        el("span", { className: "st-name" }), el("span", { className: "st-org" })),
      el("span", { className: "st-score" }));
  }

  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  // Draws `rows` (view.standings) into `list`; `mine`: a team to mark; `limit`: rows shown.
  function renderStandings(list, rows, { mine = null, limit = 0 } = {}) {
    if (!list) return;
    const shown = limit ? rows.slice(0, limit) : rows;
    const existing = new Map();
    const before = new Map();
    for (const li of Array.from(list.children)) {
      existing.set(li.dataset.teamId, li);
      before.set(li.dataset.teamId, li.getBoundingClientRect().top);
    }
    shown.forEach((row, index) => {
      const key = String(row.team_id);
      let li = existing.get(key);
      if (li) existing.delete(key);
      else {
        li = standingRow();
        li.dataset.teamId = key;
      }
      const oldScore = li.dataset.score;
      li.dataset.rank = String(row.rank);
      li.dataset.score = String(row.score);
      li.classList.toggle("podium", row.rank <= 3);
      li.classList.toggle("mine", mine !== null && Number(row.team_id) === Number(mine));
      setText(li.querySelector(".st-rank"), String(row.rank));
      setText(li.querySelector(".st-name"), row.name || "");
      const org = li.querySelector(".st-org");
      setText(org, row.organization || "");
      org.hidden = !row.organization;
      setText(li.querySelector(".st-score"), String(row.score));
      if (oldScore !== undefined && oldScore !== String(row.score)) {
        li.classList.remove("bumped", "up", "down");
        void li.offsetWidth; // restart the animation
        li.classList.add("bumped", Number(row.score) > Number(oldScore) ? "up" : "down");
      }
      if (list.children[index] !== li) list.insertBefore(li, list.children[index] || null);
    });
    for (const gone of existing.values()) gone.remove();
    if (reducedMotion.matches) return;
    // First, Last, Invert, Play: each row starts where it was and slides to its new place.
    const moved = [];
    for (const li of Array.from(list.children)) {
      const top = before.get(li.dataset.teamId);
      if (top === undefined) continue;
      const dy = top - li.getBoundingClientRect().top;
      if (!dy) continue;
      li.classList.remove("moving");
      li.style.transform = `translateY(${dy}px)`;
      moved.push(li);
    }
    if (!moved.length) return;
    void list.offsetHeight; // the inverted positions take effect before the transition starts
    for (const li of moved) {
      li.classList.add("moving");
      li.style.transform = "";
      setTimeout(() => li.classList.remove("moving"), MOVE_MS + 50);
    }
  }

  // Local wall-clock time of an ISO instant, to the millisecond (buzz and answer times).
  function clockTime(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    const pad = (n, w = 2) => String(n).padStart(w, "0");
    return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
  }

  return {
    LETTERS, strings, fill, el, setText, show, byId, teamNames, segmentOf, signed, letter,
    answerText, keyIndexes, blankCount, observe, serverNow, remainingMs, countdown,
    setConnection, connect, poster, errorMessage, renderStandings, clockTime,
  };
})();
