// A team's phone in the live final: follows the team's view and acts for the team — buzzes in
// 抢答, picks a tile (选答), chooses a stake (风险) and answers on the device when it may.
//
// Elements (for tests and for the CSS):
//   #live-team          root; data-status, data-phase, data-kind, data-my-turn, data-version
//   #team-name, #my-score, #my-rank, #connection, #paused, #segment, #countdown (live_common.js)
//   #status-text        what is happening, in a sentence
//   #buzz               the buzzer: data-state = off | wait (before the signal: pressing it puts
//                       the team out) | go | won | queued | locked; disabled when it cannot help
//   #buzz-result        the outcome: "Your team won the buzz!", "… won the buzz", place, lock-out
//   #tiles              button[data-tile] (taken ones disabled, .taken)   #tiers  button[data-tier]
//   #question           the stem
//   #answer-form        #options: button[data-option-index] (aria-pressed; for true/false the
//                       index is "true"/"false"), input[data-blank] for blanks; #submit-answer
//   #captain-only       with every member's phone connected, shown on the other members' phones
//   #my-answer, #result (data-tone = right | wrong), #reveal (#answer, #explanation, #area,
//   #citation), #notice (the server's refusal, when an action is refused), #standings (.mine)
"use strict";
(() => {
  const L = window.Live;
  const root = document.getElementById("live-team");
  if (!L || !root) return;
  const T = L.strings(root);
  const $ = L.byId;
  const TEAM = Number(root.dataset.teamId);
  const MAY_ANSWER = root.dataset.answers === "true";
  const SHARED = ["all", "tiebreak"];
  const post = L.poster(root);
  let view = null;
  let composing = { key: "", type: "", value: null };
  let busy = false;
  let noticeTimer = null;
  let timeUp = false;

  function notice(text) {
    const box = $("notice");
    L.setText(box, text || "");
    box.hidden = !text;
    clearTimeout(noticeTimer);
    if (text) noticeTimer = setTimeout(() => { box.hidden = true; }, 8000);
  }

  const name = (names, id) => names.get(Number(id)) || "";
  const mine = (v) => (v.step ? (v.step.results || []).filter((r) => r.team_id === TEAM).pop() : null);

  // What is happening, in a sentence ------------------------------------------------------------

  function statusText(v, names) {
    const step = v.step;
    if (v.status === "lobby") return T.waiting_start;
    if (v.status === "finished") return T.finished;
    if (!step) return T.waiting_next;
    const team = name(names, step.team_id);
    const shared = SHARED.includes(step.kind);
    const mineResult = mine(v);
    if (step.phase === "judged" || step.phase === "revealed") {
      if (mineResult) return L.fill(mineResult.correct ? T.you_correct : T.you_wrong, { points: L.signed(T, mineResult.points) });
      const last = (step.results || []).slice(-1)[0];
      return last ? L.fill(last.correct ? T.correct_for : T.wrong_for, { team: name(names, last.team_id), points: L.signed(T, last.points) }) : T.watch;
    }
    if (step.phase === "choosing") {
      if (!v.my_turn) return L.fill(T.choosing, { team });
      return step.kind === "risk" ? T.choose_tier : T.pick_tile;
    }
    if (step.kind === "buzz") {
      if (v.locked_out) return T.buzz_early;
      if (step.phase === "ready") return T.get_ready;
      if (step.phase === "open") return T.buzz_wait;
      if (step.phase === "armed") return T.buzz_now;
      return step.team_id === TEAM ? T.buzz_won : L.fill(T.buzz_won_by, { team });
    }
    if (shared) {
      if (!(step.eligible || []).includes(TEAM)) return T.watch;
      return step.phase === "ready" ? T.get_ready : T.your_turn;
    }
    if (!v.my_turn) return L.fill(T.answering, { team });
    return step.phase === "ready" ? T.get_ready : T.your_turn;
  }

  // The buzzer ---------------------------------------------------------------------------------

  function drawBuzz(v, names) {
    const button = $("buzz");
    const result = $("buzz-result");
    const step = v.step;
    const shown = Boolean(step && step.kind === "buzz" && v.status === "running"
      && ["ready", "open", "armed", "answering"].includes(step.phase));
    button.hidden = !shown;
    $("buzz-warn").hidden = !(shown && step.phase === "open" && !v.locked_out);
    if (!shown) {
      L.setText(result, "");
      return;
    }
    const own = (step.buzzes || []).find((b) => b.team_id === TEAM);
    const segment = L.segmentOf(v, step.segment_id) || {};
    let state;
    let label = T.buzz_now;
    if (v.locked_out) [state, label] = ["locked", T.locked_out];
    else if (step.phase === "answering" && step.team_id === TEAM) [state, label] = ["won", T.buzz_won];
    else if (own) [state, label] = ["queued", L.fill(T.buzz_place, { n: own.rank + 1 })];
    else if (step.phase === "ready") [state, label] = ["off", T.buzz_wait];
    else if (step.phase === "open") [state, label] = ["wait", T.buzz_wait];
    else if (step.phase === "armed") state = "go";
    else state = segment.pass_on_wrong ? "go" : "off";
    if (v.paused) state = "off";
    button.dataset.state = state;
    button.disabled = busy || !["wait", "go"].includes(state);
    L.setText(button, label);
    let text = "";
    if (v.locked_out) text = T.buzz_early;
    else if (step.phase === "answering" && step.team_id === TEAM) text = T.buzz_won;
    else if (step.phase === "answering") text = L.fill(T.buzz_won_by, { team: name(names, step.team_id) });
    else if (own) text = L.fill(T.buzz_place, { n: own.rank + 1 });
    L.setText(result, text);
  }

  async function buzz() {
    const step = view && view.step;
    const button = $("buzz");
    if (busy || !step || button.disabled) return;
    busy = true;
    button.disabled = true;
    const result = await post(root.dataset.buzzUrl, { step: step.number });
    busy = false;
    if (result.ok && result.body) {
      if (result.body.server_now) L.observe(result.body.server_now);
      const outcome = result.body.outcome;
      if ((outcome === "buzzed" || outcome === "again") && result.body.rank === 0 && navigator.vibrate) navigator.vibrate(200);
      render(result.body.state, true);
    } else {
      notice(L.errorMessage(result, T.failed));
      if (view) render(view, true);
    }
  }

  // Tiles and tiers ----------------------------------------------------------------------------

  function drawChoosers(v) {
    const step = v.step;
    const choosing = Boolean(step && step.phase === "choosing" && v.my_turn && MAY_ANSWER && !v.paused);
    const segment = step ? L.segmentOf(v, step.segment_id) : null;
    const tiles = $("tiles");
    const tiers = $("tiers");
    tiles.hidden = !(choosing && step.kind === "choice" && segment);
    tiers.hidden = !(choosing && step.kind === "risk" && segment);
    if (!tiles.hidden) {
      const taken = new Set(segment.tiles_taken || []);
      tiles.replaceChildren();
      for (let tile = 1; tile <= segment.tiles; tile += 1) {
        tiles.append(L.el("button", {
          type: "button", className: `tile${taken.has(tile) ? " taken" : ""}`,
          dataset: { tile: String(tile) }, disabled: taken.has(tile) || busy, text: String(tile),
        }));
      }
    }
    if (!tiers.hidden) {
      tiers.replaceChildren();
      for (const tier of segment.tiers || []) {
        tiers.append(L.el("button", {
          type: "button", className: "tier", dataset: { tier: String(tier) }, disabled: busy,
          text: L.fill(T.points, { n: tier }),
        }));
      }
    }
  }

  async function choose(url, body) {
    if (busy || !view || !view.step) return;
    busy = true;
    const result = await post(url, { step: view.step.number, ...body });
    busy = false;
    if (result.ok && result.body) {
      if (result.body.server_now) L.observe(result.body.server_now);
      render(result.body, true);
    } else {
      notice(L.errorMessage(result, T.failed));
      if (view) render(view, true);
    }
  }

  // The answer ---------------------------------------------------------------------------------

  function buildAnswer(question) {
    const options = $("options");
    options.replaceChildren();
    const hint = $("answer-hint");
    hint.hidden = true;
    composing = { key: composing.key, type: question.type, value: null };
    if (question.type === "true_false") {
      for (const [value, text] of [["true", T.true], ["false", T.false]]) {
        options.append(L.el("button", {
          type: "button", className: "option", dataset: { optionIndex: value }, "aria-pressed": "false",
        }, L.el("span", { className: "opt-body", text })));
      }
    } else if (question.type === "fill_blank") {
      const count = L.blankCount(question.stem_html);
      for (let n = 1; n <= count; n += 1) {
        const id = `blank-${n}`;
        options.append(L.el("div", { className: "blank" },
          L.el("label", { for: id, text: L.fill(T.blank_n, { n }) }),
          L.el("input", { id, type: "text", autocomplete: "off", dataset: { blank: String(n) } })));
      }
    } else {
      question.options_html.forEach((html, index) => {
        options.append(L.el("button", {
          type: "button", className: "option", dataset: { optionIndex: String(index) }, "aria-pressed": "false",
        }, L.el("span", { className: "opt-letter", text: L.letter(index) }),
        L.el("span", { className: "opt-body", html }),
        L.el("span", { className: "opt-order", "aria-hidden": "true" })));
      });
      if (question.type === "ordering") {
        hint.hidden = false;
        L.setText(hint, T.ordering_hint);
        options.append(L.el("button", { type: "button", className: "link", id: "ordering-clear", text: T.ordering_clear }));
      }
    }
  }

  function pressed() {
    const buttons = Array.from($("options").querySelectorAll("[data-option-index]"));
    const type = composing.type;
    const value = composing.value;
    for (const button of buttons) {
      const raw = button.dataset.optionIndex;
      let on = false;
      let order = "";
      if (type === "true_false") on = value === (raw === "true");
      else if (type === "single") on = value === Number(raw);
      else if (type === "multiple") on = Array.isArray(value) && value.includes(Number(raw));
      else if (type === "ordering" && Array.isArray(value)) {
        const at = value.indexOf(Number(raw));
        on = at >= 0;
        order = on ? String(at + 1) : "";
      }
      button.setAttribute("aria-pressed", on ? "true" : "false");
      const badge = button.querySelector(".opt-order");
      if (badge) L.setText(badge, order);
    }
  }

  function pick(raw) {
    const type = composing.type;
    if (type === "true_false") composing.value = raw === "true";
    else if (type === "single") composing.value = Number(raw);
    else if (type === "multiple") {
      const set = new Set(composing.value || []);
      if (set.has(Number(raw))) set.delete(Number(raw));
      else set.add(Number(raw));
      composing.value = Array.from(set).sort((a, b) => a - b);
    } else if (type === "ordering") {
      const order = composing.value || [];
      if (!order.includes(Number(raw))) composing.value = [...order, Number(raw)];
    }
    pressed();
  }

  function answerValue() {
    if (composing.type === "fill_blank") {
      const values = Array.from($("options").querySelectorAll("input[data-blank]"), (input) => input.value.trim());
      return values.some((text) => text) ? values : null;
    }
    const value = composing.value;
    if (value === null || (Array.isArray(value) && !value.length)) return null;
    if (composing.type === "ordering") {
      const count = $("options").querySelectorAll("[data-option-index]").length;
      return value.length === count ? value : null;
    }
    return value;
  }

  async function submitAnswer(event) {
    event.preventDefault();
    if (busy || !view || !view.step) return;
    const answer = answerValue();
    if (answer === null) {
      notice(T.choose_first);
      return;
    }
    busy = true;
    const button = $("submit-answer");
    button.disabled = true;
    L.setText(button, T.sending);
    const result = await post(root.dataset.answerUrl, { step: view.step.number, answer });
    busy = false;
    L.setText(button, T.submit);
    if (result.ok && result.body) {
      if (result.body.server_now) L.observe(result.body.server_now);
      notice("");
      render(result.body, true);
    } else {
      notice(L.errorMessage(result, T.failed));
      if (view) render(view, true);
    }
  }

  function drawAnswer(v) {
    const step = v.step;
    const question = step && step.question;
    const box = $("question");
    const form = $("answer-form");
    const key = question ? `${step.number}:${question.id}` : "";
    box.hidden = !question;
    if (box.dataset.for !== key) {
      box.dataset.for = key;
      box.innerHTML = question ? question.stem_html : ""; // server-sanitized Markdown
    }
    const open = Boolean(step && question && ["open", "answering"].includes(step.phase) && v.my_turn && !v.paused);
    const again = step && step.kind === "buzz"; // 抢答: the team may correct its spoken answer
    const wanted = open && (v.my_answer === null || again) && !(step.kind === "buzz" && step.phase !== "answering");
    form.hidden = !(wanted && MAY_ANSWER);
    $("captain-only").hidden = !(wanted && !MAY_ANSWER);
    if (!form.hidden && composing.key !== key) {
      composing.key = key;
      buildAnswer(question);
      pressed();
    }
    $("submit-answer").disabled = busy || timeUp;
    const sent = $("my-answer");
    sent.hidden = v.my_answer === null || v.my_answer === undefined || !question;
    if (!sent.hidden) L.setText(sent, L.fill(T.sent_answer, { answer: L.answerText(T, question.type, v.my_answer) }));
  }

  function drawReveal(v) {
    const step = v.step;
    const question = step && step.question;
    const own = v.status === "running" ? mine(v) : null;
    const result = $("result");
    result.hidden = !own;
    if (own) {
      result.dataset.tone = own.correct ? "right" : "wrong";
      L.setText(result, L.fill(own.correct ? T.you_correct : T.you_wrong, { points: L.signed(T, own.points) }));
    }
    const revealed = Boolean(question && question.answer !== undefined);
    $("reveal").hidden = !revealed;
    if (!revealed) return;
    L.setText($("answer"), L.fill(T.answer_is, { answer: L.answerText(T, question.type, question.answer, true) }));
    const explanation = $("explanation");
    const key = `${step.number}:${question.id}`;
    if (explanation.dataset.for !== key) {
      explanation.dataset.for = key;
      explanation.innerHTML = question.explanation_html || ""; // server-sanitized Markdown
    }
    L.setText($("area"), question.area ? L.fill(T.area, { area: question.area }) : "");
    L.setText($("citation"), question.citation ? L.fill(T.citation, { citation: question.citation }) : "");
  }

  // The whole view -----------------------------------------------------------------------------

  function render(v, force = false) {
    if (!v) return;
    if (!force && view && typeof v.version === "number" && v.version < view.version) return; // stale
    if (view && v.version < view.version) v = view; // an action's answer older than the stream
    const stepChanged = !view || !view.step || !v.step || view.step.number !== v.step.number;
    if (stepChanged) timeUp = false;
    view = v;
    const names = L.teamNames(v);
    const step = v.step;
    Object.assign(root.dataset, {
      status: v.status, phase: step ? step.phase : "", kind: step ? step.kind : "",
      myTurn: v.my_turn ? "true" : "false", version: String(v.version),
    });
    $("paused").hidden = !v.paused;
    L.setText($("my-score"), String((v.scores || {})[String(TEAM)] ?? 0));
    const row = (v.standings || []).find((r) => r.team_id === TEAM);
    L.setText($("my-rank"), row ? String(row.rank) : "");
    const segment = L.segmentOf(v, v.segment_id);
    L.setText($("segment"), segment ? segment.title : "");
    L.setText($("status-text"), statusText(v, names));
    L.setText($("standings-title"), v.status === "finished" ? T.finished : T.standings);
    drawBuzz(v, names);
    drawChoosers(v);
    drawAnswer(v);
    drawReveal(v);
    L.renderStandings($("standings"), v.standings || [], { mine: TEAM });
  }

  // Wiring -------------------------------------------------------------------------------------

  const buzzButton = $("buzz");
  // The buzzer answers the press, not the release: a tap counts as soon as the finger lands.
  buzzButton.addEventListener("pointerdown", (event) => {
    if (event.button === 0) {
      event.preventDefault();
      buzz();
    }
  });
  buzzButton.addEventListener("click", (event) => {
    if (event.detail === 0) buzz(); // the keyboard (Enter, Space); a tap went by pointerdown
  });
  $("tiles").addEventListener("click", (event) => {
    const button = event.target.closest("[data-tile]");
    if (button && !button.disabled) choose(root.dataset.tileUrl, { tile: Number(button.dataset.tile) });
  });
  $("tiers").addEventListener("click", (event) => {
    const button = event.target.closest("[data-tier]");
    if (button && !button.disabled) choose(root.dataset.tierUrl, { tier: Number(button.dataset.tier) });
  });
  $("options").addEventListener("click", (event) => {
    if (event.target.closest("#ordering-clear")) {
      composing.value = null;
      pressed();
      return;
    }
    const button = event.target.closest("[data-option-index]");
    if (button) pick(button.dataset.optionIndex);
  });
  $("answer-form").addEventListener("submit", submitAnswer);

  L.countdown($("countdown"), () => (view && view.step && ["open", "armed", "answering"].includes(view.step.phase) ? view.step : null), (left) => {
    const over = left === 0 && Boolean(view && view.step && view.step.deadline_at);
    if (over !== timeUp) {
      timeUp = over;
      $("submit-answer").disabled = busy || timeUp;
      if (over && !$("answer-form").hidden) notice(T.time_up);
    }
  });
  L.connect({
    streamUrl: root.dataset.streamUrl, stateUrl: root.dataset.stateUrl, onState: (v) => render(v), T,
    // With delay compensation the server times a ping's round trip: answer it at once.
    onPing: (nonce) => post(root.dataset.pongUrl, { nonce }),
  });
})();
