// The live final's big screen (1920×1080) and, with data-layout="overlay", the stream's lower
// third: follows the public view (no key before the reveal) and draws it.
//
// Elements (for tests and for the CSS):
//   #live-screen        root; data-view = lobby | question | standings, data-status, data-phase,
//                       data-kind, data-paused, data-revealed, data-version (the last view drawn)
//   #segment            the segment's title          #countdown  seconds left (live_common.js)
//   #lobby, #lobby-teams  before the start           #paused     shown while paused
//   #stage              the current question: #step-label, #banner (data-tone: wait, go, team,
//                       right, wrong), #buzzes (li[data-team-id] in buzz order), #tiles
//                       (li[data-tile], .taken, .picked), #question (the stem), #options
//                       (li[data-option-index], data-correct="true" after the reveal)
//   #reveal             after the reveal: #answer, #explanation, #area, #citation
//   #standings          li[data-team-id] (live_common.js), moved with a transition
//   ?replay[&speed=N]   replays the timeline: data-replay = playing | done, data-replay-version
"use strict";
(() => {
  const L = window.Live;
  const root = document.getElementById("live-screen");
  if (!L || !root) return;
  const T = L.strings(root);
  const overlay = root.dataset.layout === "overlay";
  const OPEN_PHASES = ["open", "armed", "answering"];
  const LIMITS = overlay ? { question: 6, standings: 10 } : { question: 8, standings: 12 };
  const $ = L.byId;
  let view = null;

  function whichView(v) {
    if (v.status === "lobby") return "lobby";
    if (v.status === "finished" || v.screen === "standings" || !v.step) return "standings";
    return "question";
  }

  function teamName(names, id) {
    return names.get(Number(id)) || "";
  }

  function banner(v, names) {
    const step = v.step;
    const team = teamName(names, step.team_id);
    const results = step.results || [];
    if (results.length && (step.phase === "judged" || step.phase === "revealed")) {
      const last = step.kind === "all" || step.kind === "tiebreak" ? results : results.slice(-1);
      const text = last.map((r) => L.fill(r.correct ? T.correct_for : T.wrong_for, {
        team: teamName(names, r.team_id), points: L.signed(T, r.points),
      })).join(T.list_sep);
      const tone = last.length === 1 ? (last[0].correct ? "right" : "wrong") : "team";
      return [text, tone];
    }
    switch (step.phase) {
      case "choosing":
        return [L.fill(step.kind === "risk" ? T.choose_tier_for : T.pick_tile_for, { team }), "team"];
      case "ready":
        return step.team_id !== null ? [L.fill(T.answering, { team }), "team"] : [T.ready, "wait"];
      case "open":
        if (step.kind === "buzz") return [T.buzz_ready, "wait"];
        if (step.kind === "all" || step.kind === "tiebreak") {
          const total = (step.eligible || []).length;
          return [`${T.all_answer} · ${L.fill(T.answered_n, { n: (step.answered || []).length, total })}`, "team"];
        }
        return [L.fill(T.answering, { team }), "team"];
      case "armed":
        return [T.buzz_now, "go"];
      case "answering":
        return [L.fill(step.kind === "buzz" ? T.buzz_won_by : T.answering, { team }), "team"];
      default:
        return ["", "team"];
    }
  }

  function drawBuzzes(step, names) {
    const list = $("buzzes");
    list.replaceChildren();
    const buzzes = step.kind === "buzz" ? step.buzzes || [] : [];
    const first = buzzes.length ? Date.parse(buzzes[0].at) : 0;
    buzzes.slice(0, overlay ? 3 : 6).forEach((buzz, index) => {
      const gap = index ? ` +${((Date.parse(buzz.at) - first) / 1000).toFixed(2)}s` : "";
      list.append(L.el("li", {
        dataset: { teamId: String(buzz.team_id) },
        className: (step.tried || []).includes(buzz.team_id) ? "tried" : "",
        text: `${teamName(names, buzz.team_id)}${gap}`,
      }));
    });
    list.hidden = !buzzes.length;
  }

  function drawTiles(v, step) {
    const grid = $("tiles");
    const segment = L.segmentOf(v, step.segment_id);
    const shown = step.kind === "choice" && segment && segment.tiles > 0
      && (step.phase === "choosing" || step.phase === "ready");
    grid.hidden = !shown;
    if (!shown) return;
    const taken = new Set(segment.tiles_taken || []);
    grid.replaceChildren();
    for (let tile = 1; tile <= segment.tiles; tile += 1) {
      const picked = tile === step.tile;
      grid.append(L.el("li", {
        dataset: { tile: String(tile) },
        className: `tile${taken.has(tile) && !picked ? " taken" : ""}${picked ? " picked" : ""}`,
        text: String(tile),
      }));
    }
  }

  function drawQuestion(step) {
    const question = step.question;
    const box = $("question");
    const options = $("options");
    const key = root.dataset.questionKey || "";
    const now = question ? `${step.number}:${question.id}` : "";
    if (key !== now) {
      root.dataset.questionKey = now;
      box.innerHTML = question ? question.stem_html : ""; // server-sanitized Markdown
      options.replaceChildren();
      if (question && question.type === "true_false") {
        options.append(
          L.el("li", { dataset: { optionIndex: "true" } }, L.el("span", { className: "opt-body", text: T.true })),
          L.el("li", { dataset: { optionIndex: "false" } }, L.el("span", { className: "opt-body", text: T.false })));
      } else if (question && question.type !== "fill_blank") {
        question.options_html.forEach((html, index) => {
          options.append(L.el("li", { dataset: { optionIndex: String(index) } },
            L.el("span", { className: "opt-letter", text: L.letter(index) }),
            L.el("span", { className: "opt-body", html })));
        });
      }
    }
    options.hidden = !options.children.length;
    const revealed = Boolean(question && question.answer !== undefined);
    const right = revealed ? L.keyIndexes(question) : new Set();
    for (const li of options.children) {
      const index = li.dataset.optionIndex;
      const correct = revealed && (question.type === "true_false"
        ? String(question.answer) === index : right.has(Number(index)));
      if (correct) li.dataset.correct = "true";
      else delete li.dataset.correct;
    }
    const reveal = $("reveal");
    reveal.hidden = !revealed;
    if (revealed) {
      L.setText($("answer"), L.fill(T.answer_is, { answer: L.answerText(T, question.type, question.answer, true) }));
      const explanation = $("explanation");
      if (explanation.dataset.for !== now) {
        explanation.dataset.for = now;
        explanation.innerHTML = question.explanation_html || ""; // server-sanitized Markdown
      }
      L.setText($("area"), question.area ? L.fill(T.area, { area: question.area }) : "");
      L.setText($("citation"), question.citation ? L.fill(T.citation, { citation: question.citation }) : "");
    }
  }

  function render(v) {
    if (view && typeof v.version === "number" && v.version < view.version) return; // stale
    view = v;
    const names = L.teamNames(v);
    const step = v.step;
    const which = whichView(v);
    Object.assign(root.dataset, {
      view: which, status: v.status, screen: v.screen, version: String(v.version),
      paused: v.paused ? "true" : "false", phase: step ? step.phase : "", kind: step ? step.kind : "",
      revealed: step && step.question && step.question.answer !== undefined ? "true" : "false",
    });
    $("paused").hidden = !v.paused;
    $("lobby").hidden = which !== "lobby";
    $("stage").hidden = which !== "question";
    const segment = L.segmentOf(v, v.segment_id);
    L.setText($("segment"), segment ? segment.title : "");
    L.setText($("standings-title"), v.status === "finished" ? T.finished : T.standings);
    if (step && which === "question") {
      const parts = [L.fill(T.question_n, { n: step.number })];
      if (step.tile) parts.push(L.fill(T.tile_n, { n: step.tile }));
      if (step.tier) parts.push(L.fill(T.stake, { n: step.tier }));
      L.setText($("step-label"), parts.join(" · "));
      const [text, tone] = banner(v, names);
      const box = $("banner");
      L.setText(box, text);
      box.dataset.tone = tone;
      box.hidden = !text;
      drawBuzzes(step, names);
      drawTiles(v, step);
      drawQuestion(step);
    }
    L.renderStandings($("standings"), v.standings || [], { limit: LIMITS[which === "question" ? "question" : "standings"] });
  }

  // ?replay (after the final): the timeline again, one event a second (?speed=2: twice as
  // fast), from the states the server derives from its log; no countdown, no stream.
  async function replay(speed) {
    root.dataset.replay = "playing";
    const conn = $("connection");
    conn.dataset.state = "replay";
    L.setText(conn, T.replay);
    const base = root.dataset.stateUrl + (root.dataset.stateUrl.includes("?") ? "&" : "?");
    for (let at = 1, last = 1; at <= last; at += 1) {
      const response = await fetch(`${base}at=${at}`, { credentials: "same-origin" });
      if (!response.ok) break;
      const v = await response.json();
      last = v.replay.last;
      render(v);
      root.dataset.replayVersion = String(at);
      await new Promise((resolve) => setTimeout(resolve, 1000 / speed));
    }
    root.dataset.replay = "done";
  }

  const params = new URLSearchParams(window.location.search);
  if (params.has("replay")) {
    replay(Math.min(Math.max(Number(params.get("speed")) || 1, 0.25), 20));
  } else {
    L.countdown($("countdown"), () => (view && view.step && OPEN_PHASES.includes(view.step.phase) ? view.step : null));
    L.connect({ streamUrl: root.dataset.streamUrl, stateUrl: root.dataset.stateUrl, onState: render, T });
  }
})();
