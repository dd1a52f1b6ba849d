// The leadership board: follows /v1/board/stream (server-sent events read through fetch, so the
// token travels in the Authorization header) and redraws a card per open operation. No personal
// data ever reaches this page. On a dropped connection it resumes from the last event id.
"use strict";

const rows = new Map();
let lastEventId = null;
let token = null;

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function duration(seconds) {
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h`;
  return `${Math.floor(seconds / 86400)} days`;
}

function statuses(counts) {
  return Object.entries(counts || {}).map(([name, n]) => `${n} ${name.replaceAll("_", " ")}`).join(", ");
}

function render() {
  const list = document.getElementById("operations");
  const open = [...rows.values()].filter((row) => row.open)
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  // Dormant operations (no update for 90 days) stay folded away unless asked for.
  const showDormant = document.getElementById("show-dormant").checked;
  const dormant = open.filter((row) => row.dormant).length;
  const shown = open.filter((row) => showDormant || !row.dormant);
  list.replaceChildren(...shown.map((row) => {
    const card = el("li", row.flags.length ? "card flagged" : "card");
    card.dataset.operationId = row.operation_id;
    card.append(el("div", "stage", row.stage.replace("_", " ")));
    if (row.reference) card.append(el("div", "meta", row.reference));
    card.append(el("div", "meta",
      `${row.country || "country unknown"} · ${row.survivors} survivor(s) · in stage ${duration(row.seconds_in_stage)}`));
    if (row.survivors) card.append(el("div", "meta", statuses(row.survivors_by_status)));
    if (row.dormant) card.append(el("span", "flag", "dormant"));
    card.append(el("div", "meta", `updated ${new Date(row.updated_at).toLocaleString()} · v${row.version}`));
    for (const flag of row.flags) card.append(el("span", "flag", flag.replaceAll("_", " ")));
    card.append(el("div", "meta", row.operation_id.slice(0, 8)));
    return card;
  }));
  document.getElementById("count").textContent = `(${open.length - dormant})`;
  document.getElementById("dormant-count").textContent = `(${dormant})`;
}

// Leadership sees counts from 1 to 4 as "<5": drawn as a short bar, sorted below the fives.
const size = (n) => (typeof n === "number" ? n : 2.5);

function chart(id, counts) {
  const entries = Object.entries(counts).sort((a, b) => size(b[1]) - size(a[1]));
  const max = Math.max(1, ...entries.map(([, n]) => size(n)));
  if (!entries.length) {
    document.getElementById(id).replaceChildren(el("p", "meta", "none recorded yet"));
    return;
  }
  document.getElementById(id).replaceChildren(...entries.map(([key, n]) => {
    const bar = el("div", "bar");
    const fill = el("div", "fill");
    fill.style.width = `${(100 * size(n)) / max}%`;
    const track = el("div");
    track.append(fill);
    bar.append(el("span", "", key.replaceAll("_", " ")), track, el("span", "", String(n)));
    return bar;
  }));
}

async function loadImpact() {
  const response = await fetch("/v1/stats/impact", { headers: { Authorization: `Bearer ${token}` } });
  if (!response.ok) return;
  const impact = await response.json();
  document.getElementById("impact-total").textContent =
    `${impact.people_rescued} people rescued in ${impact.operations} operations; ${impact.minors} were under 18. ` +
    `${impact.people_recovered} people recovered otherwise.`;
  chart("chart-country", impact.by_country);
  chart("chart-gender", impact.by_gender);
  chart("chart-exploitation", impact.by_exploitation);
  const services = {};
  for (const [name, figures] of Object.entries(impact.services)) services[name] = figures.times;
  chart("chart-services", services);
}

function status(text) { document.getElementById("status").textContent = text; }

function handle(block) {
  let id = null;
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("id:")) id = line.slice(3).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (!data) return;
  const row = JSON.parse(data);
  if (id) lastEventId = id;
  rows.set(row.operation_id, row);
  render();
}

async function follow() {
  for (;;) {
    try {
      const headers = { Authorization: `Bearer ${token}` };
      if (lastEventId) headers["Last-Event-ID"] = lastEventId;
      const response = await fetch("/v1/board/stream", { headers });
      if (response.status === 401 || response.status === 403) {
        status("This token may not see the board.");
        sessionStorage.removeItem("homeward-token");
        showLogin();
        return;
      }
      status("Live");
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      // fall through to reconnect
    }
    status("Reconnecting…");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function start() {
  document.getElementById("login").hidden = true;
  document.getElementById("board").hidden = false;
  status("Connecting…");
  document.getElementById("show-dormant").onchange = render;
  follow();
  loadImpact();
  setInterval(loadImpact, 30000);
  setInterval(render, 60000);
}

function showLogin() {
  const form = document.getElementById("login");
  form.hidden = false;
  document.getElementById("board").hidden = true;
  form.onsubmit = (event) => {
    event.preventDefault();
    token = document.getElementById("token").value.trim();
    sessionStorage.setItem("homeward-token", token);
    start();
  };
}

document.addEventListener("DOMContentLoaded", () => {
  // A token may arrive in the fragment (never sent to the server); it is kept for this tab only.
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    sessionStorage.setItem("homeward-token", fromHash);
    history.replaceState(null, "", location.pathname);
  }
  token = sessionStorage.getItem("homeward-token");
  if (token) start(); else showLogin();
});
