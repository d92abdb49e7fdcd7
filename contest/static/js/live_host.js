// The host's console of the live final: follows the host's view (the key included) and posts
// every action to data-actions-url as {"action": …}; the answer is the host's view, drawn at once.
// A refusal (409 and the like) shows the server's message in #error.
//
// Keyboard first (ignored while typing in a field; Esc leaves the field):
//   G start · N next question · 1–9 team on turn · O open · A arm · J ✓ correct · X ✗ wrong ·
//   D accept the device answer · R reveal · S standings · U undo · P pause/resume ·
//   E adjust a score · F finish (asks first, in #confirm-finish)
//
// Elements (for tests and for the CSS):
//   #live-host          root; data-status, data-phase, data-kind, data-paused, data-busy, data-version
//   button[data-action] start, next, open, arm, judge-correct, judge-wrong, judge-device, reveal,
//                       standings, undo, pause, finish (id "action-<name>", data-key its key;
//                       disabled when the state does not allow it)
//   #status, #paused, #countdown, #connection, #error (role=alert), #last-action
//   #segments           li[data-segment-id] (.current), button[data-play], button[data-move=up|down]
//   #connected          li[data-team-id] (data-online = true | false), #connected-other
//   #next-team          select: "" = next in turn, else a team id; #tiebreak-teams input[data-team-id]
//   #step-label, #step-team, #tiles button[data-tile], #tiers button[data-tier]
//   #question, #options li[data-option-index] (.correct), #key, #explanation, #citation
//   #step-lists (shown once the question is open): #buzz-col (抢答 only) with #buzzes
//                       li[data-team-id] and #early, #answers li[data-team-id], #results li[data-team-id]
//   #standings li[data-team-id], #changes li[data-seq] (.undone)
//   #adjust-form: #adjust-team, #adjust-points, #adjust-reason, #adjust-submit
//   #confirm-finish (dialog): #confirm-finish-ok, #confirm-finish-cancel
"use strict";
(() => {
  const L = window.Live;
  const root = document.getElementById("live-host");
  if (!L || !root) return;
  const T = L.strings(root);
  const $ = L.byId;
  const post = L.poster(root);
  const SHARED = ["all", "tiebreak"];
  const TURN = ["required", "choice", "risk"];
  const OPEN_PHASES = ["open", "armed", "answering"];
  const LOBBY_REFRESH_MS = 3000; // who is connected, while the final has not started
  let view = null;
  let busy = false;

  const buttons = new Map(
    Array.from(root.querySelectorAll("button[data-action]"), (button) => [button.dataset.action, button]));

  // Messages -----------------------------------------------------------------------------------

  function showError(text) {
    const box = $("error");
    L.setText(box, text || "");
    box.hidden = !text;
  }

  function done(name) {
    const button = buttons.get(name);
    const label = T[`done_${name}`] || (button ? button.querySelector(".lh-label").textContent : name);
    L.setText($("last-action"), L.fill(T.sent, { action: label }));
  }

  // Posting an action --------------------------------------------------------------------------

  async function act(payload, name) {
    if (busy) return false;
    busy = true;
    root.dataset.busy = "true";
    syncButtons();
    const result = await post(root.dataset.actionsUrl, payload);
    busy = false;
    root.dataset.busy = "false";
    if (result.ok && result.body) {
      showError("");
      done(name || payload.action);
      if (result.body.server_now) L.observe(result.body.server_now);
      render(result.body);
      return true;
    }
    showError(L.errorMessage(result, T.failed));
    syncButtons();
    return false;
  }

  function currentSegment(v) {
    return v ? L.segmentOf(v, v.segment_id) : null;
  }

  function nextPayload() {
    const segment = currentSegment(view);
    if (segment && segment.kind === "tiebreak") {
      const teams = Array.from($("tiebreak-boxes").querySelectorAll("input:checked"), (box) => Number(box.dataset.teamId));
      if (!teams.length) {
        showError(T.tiebreak_required);
        return null;
      }
      return { action: "next", teams };
    }
    const chosen = $("next-team").value;
    if (segment && TURN.includes(segment.kind) && chosen) return { action: "next", team_id: Number(chosen) };
    return { action: "next" };
  }

  const PAYLOADS = {
    start: () => ({ action: "start" }),
    next: nextPayload,
    open: () => ({ action: "open" }),
    arm: () => ({ action: "arm" }),
    "judge-correct": () => ({ action: "judge", correct: true }),
    "judge-wrong": () => ({ action: "judge", correct: false }),
    "judge-device": () => ({ action: "judge", correct: null }),
    reveal: () => ({ action: "reveal" }),
    standings: () => ({ action: "standings" }),
    undo: () => ({ action: "undo" }),
    pause: () => ({ action: view && view.paused ? "resume" : "pause" }),
  };

  async function run(name) {
    if (name === "finish") {
      const dialog = $("confirm-finish");
      if (typeof dialog.showModal === "function") dialog.showModal();
      else if (window.confirm($("confirm-finish-title").textContent)) act({ action: "finish" }, "finish");
      return;
    }
    const payload = PAYLOADS[name] && PAYLOADS[name]();
    if (!payload) return;
    const ok = await act(payload, name);
    if (ok && name === "next") $("next-team").value = "";
  }

  // What the state allows now (the server decides; this only spares the host a refusal) --------

  function allowed(v) {
    const step = v.step;
    const phase = step ? step.phase : null;
    const running = v.status === "running";
    const live = running && !v.paused;
    const openStep = Boolean(step && OPEN_PHASES.includes(phase));
    const judging = live && ["open", "answering"].includes(phase);
    const shared = Boolean(step && SHARED.includes(step.kind));
    const spoken = judging && !shared && step.team_id !== null;
    const undone = new Set(v.undone || []);
    return {
      start: v.status === "lobby",
      next: live && v.segment_id !== null && !openStep,
      open: live && phase === "ready",
      arm: live && phase === "open" && step.kind === "buzz",
      "judge-correct": spoken,
      "judge-wrong": spoken,
      "judge-device": judging && (shared || (step.team_id !== null && Boolean((step.answers || {})[String(step.team_id)]))),
      reveal: live && Boolean(step) && !["choosing", "ready", "revealed"].includes(phase),
      standings: v.status !== "lobby" && !openStep,
      undo: running && (v.changes || []).some((change) => !undone.has(change.seq)),
      pause: running,
      finish: running && !openStep,
    };
  }

  function syncButtons() {
    const can = view ? allowed(view) : {};
    for (const [name, button] of buttons) button.disabled = busy || !can[name];
    const pause = buttons.get("pause");
    if (pause) L.setText(pause.querySelector(".lh-label"), view && view.paused ? T.resume : T.pause);
  }

  // Drawing ------------------------------------------------------------------------------------

  // Redraws `list` keeping the keyboard focus on the same control when it is redrawn.
  function keepFocus(list, draw) {
    const active = document.activeElement;
    const marker = active && list.contains(active)
      ? Array.from(active.attributes).filter((a) => a.name.startsWith("data-")).map((a) => `[${a.name}="${a.value}"]`).join("")
      : "";
    draw();
    if (marker) {
      const again = list.querySelector(marker);
      if (again && !again.disabled) again.focus();
    }
  }

  function drawSegments(v) {
    const list = $("segments");
    keepFocus(list, () => {
      list.replaceChildren();
      const count = (v.segments || []).length;
      (v.segments || []).forEach((segment, index) => {
        const title = segment.title;
        const facts = [T[`kind_${segment.kind}`] || segment.kind, L.fill(T.questions_left, { n: segment.questions_left })];
        const li = L.el("li", {
          className: segment.id === v.segment_id ? "current" : "",
          dataset: { segmentId: String(segment.id), kind: segment.kind },
          "aria-current": segment.id === v.segment_id ? "step" : null,
        },
        L.el("span", { className: "lh-seg-title", text: title }),
        L.el("span", { className: "lh-seg-facts muted", text: facts.join(" · ") }),
        L.el("span", { className: "lh-seg-buttons" },
          L.el("button", { type: "button", dataset: { play: String(segment.id) }, "aria-label": L.fill(T.play_segment, { title }), text: "▶" }),
          L.el("button", { type: "button", dataset: { move: "up", segment: String(segment.id) }, disabled: index === 0, "aria-label": L.fill(T.move_up, { title }), text: "↑" }),
          L.el("button", { type: "button", dataset: { move: "down", segment: String(segment.id) }, disabled: index === count - 1, "aria-label": L.fill(T.move_down, { title }), text: "↓" })));
        if (segment.id === v.segment_id) li.append(L.el("span", { className: "lh-now", text: T.current }));
        list.append(li);
      });
    });
  }

  function drawConnected(v) {
    const seen = (v.connected && v.connected.teams) || {};
    const list = $("connected");
    list.replaceChildren();
    for (const team of v.teams || []) {
      const devices = Number(seen[String(team.id)] || 0);
      list.append(L.el("li", { dataset: { teamId: String(team.id), online: devices ? "true" : "false" } },
        L.el("span", { className: "st-name", text: team.name }),
        L.el("span", { className: "muted", text: devices ? L.fill(T.devices_n, { n: devices }) : T.not_connected })));
    }
    const other = v.connected || {};
    L.setText($("connected-other"), [L.fill(T.screens_n, { n: other.screens || 0 }), L.fill(T.hosts_n, { n: other.hosts || 0 })].join(" · "));
  }

  function drawTeamPickers(v) {
    const teams = v.teams || [];
    for (const select of [$("next-team"), $("adjust-team")]) {
      const keep = select.value;
      const first = select.options[0]; // "next in turn" / "choose a team"
      const want = teams.map((team, index) => `${team.id}:${index + 1}. ${team.name}`).join("|");
      if (select.dataset.teams !== want) {
        select.dataset.teams = want;
        select.replaceChildren(first, ...teams.map((team, index) =>
          L.el("option", { value: String(team.id), text: `${index + 1}. ${team.name}` })));
        select.value = keep;
      }
    }
    const segment = currentSegment(v);
    const box = $("tiebreak-teams");
    box.hidden = !(segment && segment.kind === "tiebreak");
    $("next-team").closest(".lh-next").querySelector("label").hidden = !box.hidden;
    $("next-team").hidden = !box.hidden;
    const boxes = $("tiebreak-boxes");
    if (boxes.dataset.teams !== teams.map((t) => t.id).join(",")) {
      boxes.dataset.teams = teams.map((t) => t.id).join(",");
      boxes.replaceChildren(...teams.map((team) => L.el("label", { className: "lh-check" },
        L.el("input", { type: "checkbox", dataset: { teamId: String(team.id) } }), ` ${team.name}`)));
    }
  }

  function drawChoosers(v) {
    const step = v.step;
    const segment = step ? L.segmentOf(v, step.segment_id) : null;
    const choosing = Boolean(step && step.phase === "choosing" && segment);
    const tiles = $("tiles");
    const tiers = $("tiers");
    tiles.hidden = !(choosing && step.kind === "choice");
    tiers.hidden = !(choosing && step.kind === "risk");
    if (!tiles.hidden) {
      const taken = new Set(segment.tiles_taken || []);
      keepFocus(tiles, () => {
        tiles.replaceChildren();
        for (let tile = 1; tile <= segment.tiles; tile += 1) {
          tiles.append(L.el("button", {
            type: "button", className: `tile${taken.has(tile) ? " taken" : ""}`,
            dataset: { tile: String(tile) }, disabled: taken.has(tile), text: String(tile),
          }));
        }
      });
    }
    if (!tiers.hidden) {
      keepFocus(tiers, () => {
        tiers.replaceChildren(...(segment.tiers || []).map((tier) => L.el("button", {
          type: "button", className: "tier", dataset: { tier: String(tier) }, text: L.fill(T.points, { n: tier }),
        })));
      });
    }
  }

  function drawStep(v, names) {
    const step = v.step;
    const segment = currentSegment(v);
    const phaseText = step ? T[`phase_${step.phase}`] || step.phase : "";
    if (!step) {
      L.setText($("step-label"), segment ? `${segment.title} · ${T.no_step}` : T.no_step);
    } else {
      const stepSegment = L.segmentOf(v, step.segment_id);
      L.setText($("step-label"), [L.fill(T.question_n, { n: step.number }), stepSegment ? stepSegment.title : "", phaseText].filter(Boolean).join(" · "));
    }
    const who = [];
    if (step) {
      if (SHARED.includes(step.kind)) who.push(L.fill(T.eligible, { teams: (step.eligible || []).map((id) => names.get(id)).join(T.list_sep) }));
      else if (step.kind === "buzz" && step.team_id !== null) who.push(L.fill(T.buzz_won_by, { team: names.get(step.team_id) }));
      else if (step.team_id !== null) who.push(L.fill(T.on_turn, { team: names.get(step.team_id) }));
      if (step.tile) who.push(L.fill(T.tile_n, { n: step.tile }));
      if (step.tier) who.push(L.fill(T.stake, { n: step.tier }));
    }
    L.setText($("step-team"), who.join(" · "));
    drawChoosers(v);

    const question = step && step.question;
    const key = question ? `${step.number}:${question.id}` : "";
    const box = $("question");
    const options = $("options");
    if (box.dataset.for !== key) {
      box.dataset.for = key;
      box.innerHTML = question ? question.stem_html : ""; // server-sanitized Markdown
      options.replaceChildren();
      if (question && question.type !== "true_false" && question.type !== "fill_blank") {
        const right = L.keyIndexes(question);
        question.options_html.forEach((html, index) => {
          options.append(L.el("li", { className: right.has(index) ? "correct" : "", dataset: { optionIndex: String(index) } },
            L.el("span", { className: "opt-letter", text: L.letter(index) }),
            L.el("span", { className: "opt-body", html })));
        });
      }
      const explanation = $("explanation");
      explanation.innerHTML = question ? question.explanation_html || "" : ""; // server-sanitized
    }
    L.setText($("key"), question ? (question.answer !== undefined
      ? L.fill(T.answer_is, { answer: L.answerText(T, question.type, question.answer, true) }) : T.key_none) : "");
    const meta = [];
    if (question && question.area) meta.push(L.fill(T.area, { area: question.area }));
    if (question && question.citation) meta.push(L.fill(T.citation, { citation: question.citation }));
    L.setText($("citation"), meta.join(" · "));

    $("step-lists").hidden = !step || ["choosing", "ready"].includes(step.phase);
    $("buzz-col").hidden = !step || step.kind !== "buzz";
    const buzzList = $("buzzes");
    buzzList.replaceChildren();
    const buzzes = (step && step.buzzes) || [];
    const armed = step && step.armed_at ? Date.parse(step.armed_at) : null;
    for (const buzz of buzzes) {
      const after = armed !== null ? ` (${L.fill(T.buzz_at, { s: ((Date.parse(buzz.at) - armed) / 1000).toFixed(3) })})` : "";
      buzzList.append(L.el("li", {
        dataset: { teamId: String(buzz.team_id) },
        className: (step.tried || []).includes(buzz.team_id) ? "tried" : "",
        text: `${names.get(buzz.team_id) || buzz.team_id} — ${L.clockTime(buzz.at)}${after}`,
      }));
    }
    if (!buzzes.length && step && step.kind === "buzz") buzzList.append(L.el("li", { className: "muted", text: T.no_buzzes }));
    const early = (step && step.early) || [];
    L.setText($("early"), early.length ? L.fill(T.buzz_early, { teams: early.map((id) => names.get(id)).join(T.list_sep) }) : "");

    const answerList = $("answers");
    answerList.replaceChildren();
    const answers = (step && step.answers) || {};
    for (const [team, given] of Object.entries(answers)) {
      const text = question ? L.answerText(T, question.type, given.answer) : JSON.stringify(given.answer);
      answerList.append(L.el("li", { dataset: { teamId: team } },
        L.el("strong", { text: `${names.get(Number(team)) || team}: ${text}` }),
        " ", L.el("span", { className: "muted", text: given.at ? L.fill(T.answered_at, { time: L.clockTime(given.at) }) : "" })));
    }
    if (step && !Object.keys(answers).length) answerList.append(L.el("li", { className: "muted", text: T.no_answers }));

    const resultList = $("results");
    resultList.replaceChildren();
    for (const result of (step && step.results) || []) {
      resultList.append(L.el("li", {
        dataset: { teamId: String(result.team_id) },
        className: result.correct ? "right" : "wrong",
        text: L.fill(result.correct ? T.correct_for : T.wrong_for, { team: names.get(result.team_id), points: L.signed(T, result.points) }),
      }));
    }
  }

  function drawChanges(v, names) {
    const list = $("changes");
    const undone = new Set(v.undone || []);
    list.replaceChildren(...(v.changes || []).slice(-20).reverse().map((change) => L.el("li", {
      dataset: { seq: String(change.seq) },
      className: undone.has(change.seq) ? "undone" : "",
    }, L.fill(T.change, {
      team: names.get(change.team_id) || change.team_id,
      points: L.signed(T, change.points),
      reason: change.reason === "judge" ? T.change_judge : change.reason,
    }), undone.has(change.seq) ? ` (${T.undone})` : "")));
  }

  function render(v) {
    if (!v) return;
    if (view && typeof v.version === "number" && v.version < view.version) return; // stale
    view = v;
    const names = L.teamNames(v);
    const step = v.step;
    Object.assign(root.dataset, {
      status: v.status, phase: step ? step.phase : "", kind: step ? step.kind : "",
      paused: v.paused ? "true" : "false", version: String(v.version),
    });
    const segment = currentSegment(v);
    const status = T[`status_${v.status}`] || v.status;
    L.setText($("status"), segment && v.status === "running" ? `${status} · ${segment.title}` : status);
    $("paused").hidden = !v.paused;
    drawSegments(v);
    drawConnected(v);
    drawTeamPickers(v);
    drawStep(v, names);
    L.renderStandings($("standings"), v.standings || []);
    drawChanges(v, names);
    syncButtons();
  }

  // Wiring -------------------------------------------------------------------------------------

  for (const [name, button] of buttons) button.addEventListener("click", () => run(name));

  $("segments").addEventListener("click", (event) => {
    const play = event.target.closest("[data-play]");
    if (play) {
      act({ action: "segment", segment_id: Number(play.dataset.play) }, "segment");
      return;
    }
    const move = event.target.closest("[data-move]");
    if (!move || !view) return;
    const order = (view.segments || []).map((segment) => segment.id);
    const at = order.indexOf(Number(move.dataset.segment));
    const to = move.dataset.move === "up" ? at - 1 : at + 1;
    if (at < 0 || to < 0 || to >= order.length) return;
    [order[at], order[to]] = [order[to], order[at]];
    act({ action: "reorder", order }, "reorder");
  });
  $("tiles").addEventListener("click", (event) => {
    const tile = event.target.closest("[data-tile]");
    if (tile && !tile.disabled) act({ action: "pick_tile", tile: Number(tile.dataset.tile) }, "pick_tile");
  });
  $("tiers").addEventListener("click", (event) => {
    const tier = event.target.closest("[data-tier]");
    if (tier) act({ action: "choose_tier", tier: Number(tier.dataset.tier) }, "choose_tier");
  });

  $("adjust-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const team = $("adjust-team").value;
    const points = Number($("adjust-points").value);
    const reason = $("adjust-reason").value.trim();
    if (!team) {
      showError(T.team_required);
      return;
    }
    if (!Number.isInteger(points) || points === 0 || !reason) {
      showError(T.adjust_invalid);
      return;
    }
    const ok = await act({ action: "adjust", team_id: Number(team), points, reason }, "adjust");
    if (ok) {
      $("adjust-points").value = "";
      $("adjust-reason").value = "";
      document.activeElement.blur();
    }
  });

  const dialog = $("confirm-finish");
  $("confirm-finish-cancel").addEventListener("click", () => dialog.close());
  $("confirm-finish-ok").addEventListener("click", () => {
    dialog.close();
    act({ action: "finish" }, "finish");
  });

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target instanceof Element && target.closest("input, select, textarea, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (dialog.open || event.repeat) return;
    const key = event.key.toLowerCase();
    if (/^[1-9]$/.test(key)) {
      const team = (view && view.teams || [])[Number(key) - 1];
      if (team) {
        $("next-team").value = String(team.id);
        event.preventDefault();
      }
      return;
    }
    if (key === "e") {
      event.preventDefault();
      const step = view && view.step;
      if (step && step.team_id !== null) $("adjust-team").value = String(step.team_id);
      $("adjust-points").focus();
      return;
    }
    const button = root.querySelector(`button[data-key="${CSS.escape(key)}"]`);
    if (!button) return;
    event.preventDefault();
    if (button.disabled) {
      button.classList.remove("refused");
      void button.offsetWidth;
      button.classList.add("refused");
      return;
    }
    button.click();
  });

  L.countdown($("countdown"), () => (view && view.step && OPEN_PHASES.includes(view.step.phase) ? view.step : null));
  const live = L.connect({ streamUrl: root.dataset.streamUrl, stateUrl: root.dataset.stateUrl, onState: render, T });
  // Devices joining or leaving change no state the stream would send: in the lobby, ask.
  setInterval(() => {
    if (view && view.status === "lobby" && !document.hidden) live.refresh();
  }, LOBBY_REFRESH_MS);
})();
