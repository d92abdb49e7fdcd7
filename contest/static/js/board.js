// Public boards, live: the page is rendered with the current snapshot; this script keeps it
// current and, on the big screen, rotates between the boards.
//
// A board with data-stream-url follows streamRoundLeaderboard (server-sent events). When
// EventSource is missing or keeps failing, it polls its JSON URL instead (getRoundLeaderboard,
// with If-None-Match so an unchanged board costs a 304). Boards without a stream (the overall
// and organization boards) are polled, and refreshed soon after any streamed change. Rows are
// followed by their data-key and move to their new place (FLIP); new rows fade in; nothing moves
// when the visitor prefers reduced motion. Words come from the page (#board-i18n).
"use strict";
(() => {
  const root = document.getElementById("boards");
  if (!root) return;
  const T = JSON.parse(document.getElementById("board-i18n").textContent);

  // Round labels follow the clock: a tab's "In progress" becomes "Ended" at the close, and the
  // round board's "live" becomes "final" (or says "frozen" while the freeze holds).
  const passed = (iso) => Boolean(iso) && Date.parse(iso) <= Date.now();

  function modeLabel(element) {
    const mode = element.querySelector("[data-mode-label]");
    if (!mode) return;
    const notice = element.querySelector("[data-frozen-notice]");
    const frozen = Boolean(notice && !notice.hidden);
    const word = frozen ? mode.dataset.frozen
      : passed(mode.dataset.closes) ? mode.dataset.ended : mode.dataset.live;
    if (mode.textContent !== "· " + word) mode.textContent = "· " + word;
  }

  function roundLabels() {
    for (const tab of document.querySelectorAll(".tab-status[data-opens]")) {
      const state = passed(tab.dataset.closes) ? "closed"
        : !tab.dataset.opens || passed(tab.dataset.opens) ? "open" : "scheduled";
      if (tab.textContent !== T[state]) tab.textContent = T[state];
    }
    for (const element of document.querySelectorAll("[data-board]")) modeLabel(element);
    // Again just after the next opening or close on the page (and at least once a minute).
    const times = [...document.querySelectorAll("[data-opens], [data-closes]")]
      .flatMap((el) => [el.dataset.opens, el.dataset.closes])
      .map((iso) => (iso ? Date.parse(iso) : NaN))
      .filter((t) => t > Date.now());
    const next = times.length ? Math.min(...times) - Date.now() + 250 : 60000;
    setTimeout(roundLabels, Math.min(next, 60000));
  }
  roundLabels();
  const fill = (text, vars) => text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  const stateBox = document.getElementById("live-state");

  const POLL_MS = 4000; // the main board, when it cannot stream
  const OTHERS_MS = 10000; // boards without a stream
  const STREAM_FAILURES = 3; // errors in a row before falling back to polling
  const STREAM_RETRY_MS = 60000; // while polling, try the stream again this often
  const MAX_STREAMS = 3; // browsers allow six connections per host over HTTP/1.1
  const MOVE_MS = 700;

  // Connection state, as text (the colour only repeats it) -------------------------------------

  function setState(state) {
    if (!stateBox || stateBox.dataset.state === state) return;
    stateBox.dataset.state = state;
    stateBox.textContent = T[state] || state;
  }

  // Formatting: as the server renders it ----------------------------------------------------------

  function number(value) {
    return value === null || value === undefined ? "—" : String(value);
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "—";
    const s = Math.floor(seconds) % 60;
    const m = Math.floor(seconds / 60) % 60;
    const h = Math.floor(seconds / 3600);
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }
  function percent(rate) {
    return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
  }

  function keyed(entries) {
    // Entries carry an opaque id per contestant (a keyed hash; it reveals nothing).
    return entries.map((entry) => [entry.id || `${entry.name}|${entry.rank}`, entry]);
  }

  function cell(tr, className, tag = "td") {
    const td = document.createElement(tag);
    td.className = className;
    tr.appendChild(td);
    return td;
  }

  function buildRow() {
    const tr = document.createElement("tr");
    const rank = cell(tr, "rank");
    const mark = document.createElement("span");
    mark.className = "rank-mark";
    rank.appendChild(mark);
    const who = cell(tr, "who");
    const name = document.createElement("span");
    name.className = "name";
    const org = document.createElement("span");
    org.className = "org";
    who.append(name, org);
    cell(tr, "num score");
    cell(tr, "num time");
    return tr;
  }

  function setText(element, text) {
    if (element.textContent !== text) element.textContent = text;
  }

  function fillEntry(tr, entry) {
    tr.classList.toggle("podium", entry.rank <= 3);
    setText(tr.querySelector(".rank-mark"), String(entry.rank));
    setText(tr.querySelector(".name"), entry.name || "");
    const org = tr.querySelector(".org");
    setText(org, entry.organization || "");
    org.hidden = !entry.organization;
    setText(tr.cells[2], number(entry.score));
    setText(tr.cells[3], duration(entry.time_used_s));
  }

  function fillOrganization(tr, row) {
    tr.classList.toggle("podium", row.rank <= 3);
    setText(tr.querySelector(".rank-mark"), String(row.rank));
    setText(tr.querySelector(".name"), row.name || "");
    // "3 of 10 submitted (30%) · 5 started", as templates/boards/_macros.html writes it.
    const enrolled = row.enrolled ?? row.registered ?? 0;
    let took = fill(T.unit_submitted, {
      n: row.submitted ?? row.participants ?? 0,
      enrolled,
      rate: percent(row.participation_rate),
    });
    if (row.started !== undefined) took += ` · ${fill(T.unit_started, { n: row.started })}`;
    setText(tr.querySelector(".org"), took);
    setText(tr.cells[2], number(row.mean_score));
    setText(tr.cells[3], number(row.top_score));
    tr.cells[3].className = "num top";
  }

  // Rows move to their new place: First, Last, Invert, Play.
  function renderRows(tbody, rows, fillRow) {
    const animate = !reducedMotion.matches && typeof Element.prototype.animate === "function";
    const before = new Map();
    const existing = new Map();
    for (const tr of Array.from(tbody.rows)) {
      existing.set(tr.dataset.key, tr);
      if (animate) before.set(tr.dataset.key, tr.getBoundingClientRect().top);
    }
    const fresh = new Set();
    rows.forEach(([key, row], index) => {
      let tr = existing.get(key);
      if (tr) existing.delete(key);
      else {
        tr = buildRow();
        tr.dataset.key = key;
        fresh.add(tr);
      }
      fillRow(tr, row);
      if (tbody.rows[index] !== tr) tbody.insertBefore(tr, tbody.rows[index] || null);
    });
    for (const gone of existing.values()) gone.remove();
    if (!animate) return;
    for (const tr of Array.from(tbody.rows)) {
      if (fresh.has(tr)) {
        tr.animate([{ opacity: 0 }, { opacity: 1 }], { duration: MOVE_MS, easing: "ease-out" });
        continue;
      }
      const dy = before.get(tr.dataset.key) - tr.getBoundingClientRect().top;
      if (dy) {
        tr.animate([{ transform: `translateY(${dy}px)` }, { transform: "none" }], {
          duration: MOVE_MS, easing: "cubic-bezier(.2, .7, .3, 1)",
        });
      }
    }
  }

  // One board on the page ------------------------------------------------------------------------

  class Board {
    constructor(element) {
      this.element = element;
      this.kind = element.dataset.board;
      this.url = element.dataset.url;
      this.streamUrl = element.dataset.streamUrl || null;
      this.limit = Number(element.dataset.limit) || 0;
      this.version = Number(element.dataset.version) || 0;
      this.etag = null;
      this.tbody = element.querySelector("[data-rows]");
      this.frozen = Boolean(element.querySelector("[data-frozen-notice]:not([hidden])"));
    }

    apply(body) {
      if (typeof body.version === "number" && body.version < this.version) return; // stale
      this.version = body.version;
      this.element.dataset.version = String(body.version);
      const notice = this.element.querySelector("[data-frozen-notice]");
      if (notice) notice.hidden = !body.frozen;
      this.frozen = Boolean(body.frozen);
      modeLabel(this.element);
      for (const dd of this.element.querySelectorAll("[data-stat]")) {
        if (body.stats) setText(dd, number(body.stats[dd.dataset.stat]));
      }
      let rows;
      if (this.kind === "organizations") {
        rows = (body.organizations || []).map((row) => [row.name, row]);
        if (this.limit) rows = rows.slice(0, this.limit);
        renderRows(this.tbody, rows, fillOrganization);
      } else {
        rows = keyed(body.entries || []);
        renderRows(this.tbody, rows, fillEntry);
      }
      const empty = this.element.querySelector("[data-empty]");
      if (empty) empty.hidden = rows.length > 0;
      const count = this.element.querySelector("[data-count]");
      if (count && typeof body.total === "number") {
        count.textContent = body.total
          ? fill(T.shown, {
            first: body.offset + 1,
            last: Math.min(body.offset + rows.length, body.total),
            total: body.total,
          })
          : "";
      }
      this.element.dispatchEvent(new CustomEvent("board:updated", { bubbles: true }));
    }

    // One poll: true when the board answered (changed or not), false on failure.
    async poll() {
      try {
        const headers = { Accept: "application/json" };
        if (this.etag) headers["If-None-Match"] = this.etag;
        const response = await fetch(this.url, { headers, cache: "no-store", credentials: "omit" });
        if (response.status === 304) return true;
        if (response.status === 404) {
          this.gone = true;
          return false;
        }
        if (!response.ok) return false;
        this.etag = response.headers.get("ETag");
        this.apply(await response.json());
        return true;
      } catch (error) {
        return false; // offline for a moment
      }
    }
  }

  const boards = Array.from(root.querySelectorAll("[data-board]")).map((el) => new Board(el));
  if (!boards.length) return;
  const streamed = boards.filter((b) => b.streamUrl).slice(0, MAX_STREAMS);
  const polled = boards.filter((b) => !streamed.includes(b));
  const live = new Set(); // streamed boards whose stream is open
  const fallback = new Set(); // streamed boards that poll instead

  function showState() {
    if (boards.some((b) => b.gone)) setState("unavailable");
    else if (fallback.size) setState(navigator.onLine === false ? "offline" : "polling");
    else if (streamed.length && live.size === streamed.length) {
      // Connected, but a frozen board does not move: "live" would promise what it will not do.
      setState(boards.some((b) => b.frozen) ? "live_frozen" : "live");
    }
    else if (streamed.length) setState("reconnecting");
    else setState("polling");
  }

  // Boards without a stream: now and then, and soon after any streamed change.
  let othersTimer = null;
  function refreshOthers(delay) {
    clearTimeout(othersTimer);
    othersTimer = setTimeout(async () => {
      await Promise.all(polled.map((b) => b.poll()));
      showState();
      refreshOthers(OTHERS_MS);
    }, delay);
  }

  function pollInstead(board) {
    if (fallback.has(board)) return;
    fallback.add(board);
    live.delete(board);
    showState();
    const started = Date.now();
    const tick = async () => {
      const ok = await board.poll();
      if (ok) refreshOthers(1000);
      setState(ok ? "polling" : board.gone ? "unavailable" : "offline");
      if ("EventSource" in window && Date.now() - started > STREAM_RETRY_MS && !board.gone) {
        fallback.delete(board);
        openStream(board);
        return;
      }
      setTimeout(tick, ok ? POLL_MS : POLL_MS * 2);
    };
    tick();
  }

  function openStream(board) {
    if (!("EventSource" in window)) {
      pollInstead(board);
      return;
    }
    let failures = 0;
    const source = new EventSource(board.streamUrl);
    source.addEventListener("board", (event) => {
      failures = 0;
      live.add(board);
      try {
        board.apply(JSON.parse(event.data));
      } catch (error) { /* a torn event: the next one repairs it */ }
      showState();
      refreshOthers(1000);
    });
    source.addEventListener("error", () => {
      failures += 1;
      live.delete(board);
      if (failures >= STREAM_FAILURES || source.readyState === EventSource.CLOSED) {
        source.close();
        pollInstead(board);
      } else {
        showState(); // the browser reconnects by itself
      }
    });
    window.addEventListener("pagehide", () => source.close());
  }

  setState("connecting");
  for (const board of streamed) openStream(board);
  refreshOthers(streamed.length ? OTHERS_MS : 0);
  window.addEventListener("online", () => refreshOthers(0));

  // The big screen: one board at a time, in turn ---------------------------------------------

  if (root.dataset.screen === undefined) return;
  const slides = Array.from(root.querySelectorAll("[data-slide]"));
  const dots = Array.from(root.querySelectorAll("[data-dot]"));
  const rotateMs = Math.max(2, Number(root.dataset.rotate) || 15) * 1000;
  let index = Number(root.dataset.slideIndex) || 0;
  function show(next) {
    slides[index].hidden = true;
    dots[index]?.removeAttribute("aria-current");
    index = next;
    slides[index].hidden = false;
    dots[index]?.setAttribute("aria-current", "true");
    root.dataset.slideIndex = String(index);
  }
  if (slides.length > 1) setInterval(() => show((index + 1) % slides.length), rotateMs);
})();
