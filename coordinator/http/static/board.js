// The leadership board: follows /v1/board/stream?impact=1 (server-sent events read through fetch,
// so the token travels in the Authorization header), redraws a card per open operation and the
// impact figures as they change, and lists alerts where the service has them. No personal data
// ever reaches this page. On a dropped connection it resumes from the last event id.
// Every word comes from the page's message catalogue (data-messages on <html>, set by the
// server in the reader's language); numbers and dates are the page's locale's, in its time zone.
"use strict";

const rows = new Map();
let lastEventId = null;
let token = null;

const page = document.documentElement.dataset;
const messages = JSON.parse(page.messages || "{}");
const locale = page.locale || "vi-VN";
const timeZone = page.timeZone || "Asia/Ho_Chi_Minh";
const plurals = new Intl.PluralRules(locale);
const numbers = new Intl.NumberFormat(locale);
const dates = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone });
let regions = null;
try { regions = new Intl.DisplayNames([locale], { type: "region" }); } catch (error) { regions = null; }

// A message with its {names} filled in; the key itself when no catalogue has it.
function t(key, values = {}) {
  const message = messages[key] ?? key;
  return message.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

// The message for `n` things, by the language's plural category (key.one, key.other...).
function tn(key, n, values = {}) {
  const category = typeof n === "number" ? plurals.select(n) : "other";
  const chosen = `${key}.${category}` in messages ? `${key}.${category}` : `${key}.other`;
  return t(chosen, { count: num(n), ...values });
}

const word = (vocabulary, value) => messages[`${vocabulary}.${value}`] ?? String(value).replaceAll("_", " ");
const num = (n) => (typeof n === "number" ? numbers.format(n) : String(n)); // "<5" stays as it is
const when = (iso) => dates.format(new Date(iso));

function country(code) {
  if (!code) return t("board.country_unknown");
  if (messages[`country.${code}`]) return messages[`country.${code}`];
  try { return regions?.of(code) || code; } catch (error) { return code; }
}

function duration(seconds) {
  const [amount, unit] = seconds < 3600 ? [Math.floor(seconds / 60), "minute"]
    : seconds < 86400 ? [Math.floor(seconds / 3600), "hour"] : [Math.floor(seconds / 86400), "day"];
  return new Intl.NumberFormat(locale, { style: "unit", unit, unitDisplay: "long" }).format(amount);
}

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

const shortId = (id) => String(id).slice(0, 8);
const title = (row) => `${row.reference || t("board.operation", { id: shortId(row.operation_id) })} · ${country(row.country)}`;

function card(row) {
  const item = el("li", row.flags.length ? "card flagged" : "card");
  item.dataset.operationId = row.operation_id;
  item.append(el("h3", "title", title(row)));
  const stage = el("div", "stage", word("stage", row.stage));
  stage.dataset.stage = row.stage;
  item.append(stage);
  const inStage = t("board.in_stage", { duration: duration(row.seconds_in_stage) });
  item.append(el("div", "meta", row.survivors ? `${tn("board.survivors", row.survivors)} · ${inStage}` : inStage));
  const whereabouts = Object.entries(row.survivors_by_status || {});
  if (whereabouts.length) {
    const list = el("ul", "whereabouts");
    list.setAttribute("aria-label", t("board.whereabouts"));
    for (const [status, n] of whereabouts) {
      const entry = el("li", "", `${word("status", status)}: ${num(n)}`);
      entry.dataset.status = status;
      list.append(entry);
    }
    item.append(list);
  }
  if (row.dormant) item.append(el("span", "flag", word("flag", "dormant")));
  for (const flag of row.flags) item.append(el("span", "flag", word("flag", flag)));
  item.append(el("div", "meta", `${t("board.updated", { when: when(row.updated_at) })} · v${row.version} · ${shortId(row.operation_id)}`));
  return item;
}

function render() {
  const open = [...rows.values()].filter((row) => row.open)
    .sort((a, b) => b.updated_at.localeCompare(a.updated_at));
  // Dormant operations (no update for 90 days) stay folded away unless opened.
  const live = open.filter((row) => !row.dormant);
  const dormant = open.filter((row) => row.dormant);
  const list = document.getElementById("operations");
  list.replaceChildren(...live.map(card));
  if (!live.length) list.append(el("li", "meta", t("board.none_open")));
  document.getElementById("dormant-operations").replaceChildren(...dormant.map(card));
  document.getElementById("dormant").hidden = !dormant.length;
  document.getElementById("count").textContent = `(${num(live.length)})`;
  document.getElementById("dormant-count").textContent = `(${num(dormant.length)})`;
  scheduleAlerts();
}

// Leadership sees counts from 1 to 4 as "<5": drawn as a short, hatched bar (half of five on a
// scale of at least five), sorted below the fives.
const size = (n) => (typeof n === "number" ? n : 2.5);

function bar(key, label, n, max, shown = num(n)) {
  const row = el("div", typeof n === "number" ? "bar" : "bar few");
  row.dataset.key = key;
  const fill = el("div", "fill");
  fill.style.width = `${(100 * size(n)) / max}%`;
  const track = el("div", "track");
  track.append(fill);
  row.append(el("span", "label", label), track, el("span", "value", shown));
  return row;
}

// Bars of counts, largest first; `inOrder` keeps the keys' own order (years, months).
function chart(id, counts, label = (key) => key.replaceAll("_", " "), inOrder = false) {
  const entries = Object.entries(counts || {});
  if (inOrder) entries.sort((a, b) => a[0].localeCompare(b[0]));
  else entries.sort((a, b) => size(b[1]) - size(a[1]));
  const max = Math.max(5, ...entries.map(([, n]) => size(n)));
  if (!entries.length) {
    document.getElementById(id).replaceChildren(el("p", "meta", t("impact.none")));
    return;
  }
  document.getElementById(id).replaceChildren(...entries.map(([key, n]) => bar(key, label(key), n, max)));
}

const months = new Intl.DateTimeFormat(locale, { month: "short", year: "numeric", timeZone: "UTC" });
const month = (key) => months.format(new Date(`${key}-01T00:00:00Z`));
const recorded = (key) => (key === "unknown" ? t("impact.unknown") : key);
const days = new Intl.NumberFormat(locale, { style: "unit", unit: "day", unitDisplay: "long", maximumFractionDigits: 1 });

// The two times (report to rescue, rescue to return): median and 90th percentile in days, as
// bars on one scale; "<5 people" where so few people have both times that they are withheld.
function durations(id, statistics) {
  const names = ["report_to_rescue_days", "rescue_to_home_days"];
  const max = Math.max(1, ...names.map((name) => statistics[name]?.p90 ?? 0));
  document.getElementById(id).replaceChildren(...names.map((name) => {
    const statistic = statistics[name] || { people: 0, median: null, p90: null };
    const group = el("div", "duration");
    group.dataset.duration = name;
    group.append(el("h4", "", t(`impact.${name}`)));
    if (statistic.median === null || statistic.p90 === null) {
      const people = statistic.people === 0 ? t("impact.none") : tn("impact.people", statistic.people);
      group.append(el("p", "meta withheld", people));
      return group;
    }
    group.append(
      bar("median", t("impact.median"), statistic.median, max, days.format(statistic.median)),
      bar("p90", t("impact.p90"), statistic.p90, max, days.format(statistic.p90)),
      el("p", "meta", tn("impact.people", statistic.people)),
    );
    return group;
  }));
}

// The report's breakdowns come with GET /v1/stats/impact only; the stream's figures say when
// they changed, and the page then asks for the report again.
const REPORT = ["by_year", "by_month", "by_home_province", "report_to_rescue_days", "rescue_to_home_days"];
let report = null;
let reportDue = null;

function renderImpact(impact) {
  if (REPORT.every((name) => name in impact)) report = impact;
  else if (reportDue === null) reportDue = setTimeout(() => { reportDue = null; loadImpact(); }, 300);
  const figures = ["people_rescued", "operations", "minors", "people_recovered"].map((name) => {
    const figure = el("div", "figure");
    const value = el("dd", "", num(impact[name]));
    value.id = `impact-${name.replaceAll("_", "-")}`;
    figure.append(value, el("dt", "", t(`impact.${name}`)));
    return figure;
  });
  document.getElementById("impact-total").replaceChildren(...figures);
  if (report) {
    chart("chart-year", report.by_year, String, true);
    const lastMonths = Object.fromEntries(Object.entries(report.by_month).sort().slice(-24));
    chart("chart-month", lastMonths, month, true);
    chart("chart-province", report.by_home_province, recorded);
    durations("chart-durations", report);
  }
  chart("chart-ethnic", impact.by_ethnic_group, recorded);
  chart("chart-country", impact.by_country, country);
  chart("chart-gender", impact.by_gender, (key) => word("gender", key));
  chart("chart-exploitation", impact.by_exploitation, (key) => word("exploitation", key));
  const services = {};
  for (const [name, figures] of Object.entries(impact.services)) services[name] = figures.times;
  chart("chart-services", services, (key) => word("service", key));
}

async function loadImpact() {
  const response = await fetch("/v1/stats/impact", { headers: { Authorization: `Bearer ${token}` } });
  if (response.ok) renderImpact(await response.json());
}

// The alerts panel shows when the service answers GET /v1/alerts, and stays hidden otherwise.
let alertsDue = null;
function scheduleAlerts() {
  if (alertsDue === null) alertsDue = setTimeout(loadAlerts, 500);
}

async function loadAlerts() {
  alertsDue = null;
  const panel = document.getElementById("alerts");
  let response;
  try {
    response = await fetch("/v1/alerts", { headers: { Authorization: `Bearer ${token}` } });
  } catch (error) {
    return;
  }
  if (!response.ok) {
    panel.hidden = true;
    return;
  }
  const alerts = (await response.json()).alerts || [];
  panel.hidden = false;
  document.getElementById("alert-count").textContent = `(${num(alerts.filter((a) => !a.acknowledged).length)})`;
  const list = document.getElementById("alert-list");
  list.replaceChildren(...alerts.map((alert) => {
    const item = el("li", alert.acknowledged ? "alert acknowledged" : "alert");
    item.dataset.alertId = alert.alert_id;
    item.dataset.kind = alert.kind;
    item.append(el("strong", "", word("alert", alert.kind)));
    const row = rows.get(alert.operation_id);
    const where = [row ? title(row) : t("board.operation", { id: shortId(alert.operation_id) })];
    if (alert.survivor_id) where.push(t("alerts.survivor", { id: shortId(alert.survivor_id) }));
    where.push(t("alerts.since", { when: when(alert.since) }));
    if (alert.acknowledged) where.push(t("alerts.acknowledged"));
    item.append(el("div", "meta", where.join(" · ")));
    return item;
  }));
  if (!alerts.length) list.append(el("li", "meta", t("alerts.none")));
}

function status(key) { document.getElementById("status").textContent = t(key); }

function handle(block) {
  let id = null;
  let type = "message";
  let data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("id:")) id = line.slice(3).trim();
    else if (line.startsWith("event:")) type = line.slice(6).trim();
    else if (line.startsWith("data:")) data += line.slice(5).trim();
  }
  if (!data) return;
  if (type === "impact") {
    renderImpact(JSON.parse(data));
    return;
  }
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
      const response = await fetch("/v1/board/stream?impact=1", { headers });
      if (response.status === 401 || response.status === 403) {
        status("board.forbidden");
        sessionStorage.removeItem("homeward-token");
        showLogin();
        return;
      }
      status("board.live");
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
    status("board.reconnecting");
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

function start() {
  document.getElementById("login").hidden = true;
  document.getElementById("board").hidden = false;
  status("board.connecting");
  follow();
  loadImpact();
  loadAlerts();
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
    history.replaceState(null, "", location.pathname + location.search);
  }
  token = sessionStorage.getItem("homeward-token");
  if (token) start(); else showLogin();
});
