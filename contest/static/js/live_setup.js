// The live round's set-up form: show each segment's fields for its kind, hide the team rows
// while every contestant is a team of one, and add a team or a segment row without a round
// trip. Without this file every field shows (its label says which kind it is for) and the
// "add" buttons post the form and come back with more blank rows.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form[data-testid=live-round-form]");
  if (!form) return;

  // A segment's fields: data-only="risk" shows for that kind only, data-not="risk" for every
  // kind but that one.
  const syncSegment = (row) => {
    const kind = row.querySelector("select[name$='-kind']").value;
    for (const field of row.querySelectorAll("[data-only], [data-not]")) {
      const only = field.dataset.only;
      field.hidden = only ? !only.split(" ").includes(kind) : field.dataset.not === kind;
    }
  };
  form.addEventListener("change", (event) => {
    if (event.target.matches("select[name$='-kind']")) {
      syncSegment(event.target.closest("[data-segment]"));
    }
  });
  for (const row of form.querySelectorAll("[data-segment]")) syncSegment(row);

  const teamRows = form.querySelector("[data-team-rows]");
  const syncTeams = () => {
    const chosen = form.querySelector("input[name=team_mode]:checked");
    teamRows.hidden = Boolean(chosen) && chosen.value === "individual";
  };
  for (const radio of form.querySelectorAll("input[name=team_mode]")) {
    radio.addEventListener("change", syncTeams);
  }
  syncTeams();

  // A new row: a copy of the last one (blank: the page always ends with blank rows) with the
  // next index in its names and ids, its inputs back to their defaults.
  const addRow = (group) => {
    const rows = form.querySelector(`[data-rows=${group}]`);
    const last = rows.querySelector("[data-row]:last-of-type");
    const index = rows.querySelectorAll("[data-row]").length;
    const row = last.cloneNode(true);
    const renumber = (value) => value.replace(/^(teams|segments)-\d+-/, `${group}-${index}-`);
    for (const node of row.querySelectorAll("[name], [id], label[for]")) {
      if (node.name) node.name = renumber(node.name);
      if (node.id) node.id = renumber(node.id);
      if (node.htmlFor) node.htmlFor = renumber(node.htmlFor);
    }
    for (const input of row.querySelectorAll("input")) {
      if (input.type === "checkbox") input.checked = input.defaultChecked;
      else input.value = input.defaultValue;
      input.removeAttribute("aria-invalid");
    }
    for (const select of row.querySelectorAll("select")) {
      const chosen = Array.from(select.options).findIndex((o) => o.defaultSelected);
      select.selectedIndex = Math.max(chosen, 0);
      select.removeAttribute("aria-invalid");
    }
    for (const error of row.querySelectorAll(".error")) error.remove();
    row.querySelector("legend").textContent = rows.dataset.legend.replace("{n}", index + 1);
    rows.append(row);
    if (row.matches("[data-segment]")) syncSegment(row);
    row.querySelector("input, select").focus();
  };
  for (const button of form.querySelectorAll("button[data-add-row]")) {
    button.addEventListener("click", (event) => {
      event.preventDefault();
      addRow(button.dataset.addRow);
    });
  }
});
