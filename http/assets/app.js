// The /jobs dashboard. Plain DOM, no framework; talks to jobd only through
// /jobs-client.js. Live updates come from Server-Sent Events; when the stream
// is down the page polls every few seconds instead.
import * as api from "/jobs-client.js";

const STATUSES = ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"];
const PAGE = 100;
const BULK_MAX = 1000;      // jobs per bulk click (the API's default cap)
const FINISHED = ["COMPLETED", "FAILED", "CANCELLED"];
const POLL_MS = 3000;       // list + stats when the event stream is down
const STATS_MS = 5000;      // throughput chart refresh
const $ = (id) => document.getElementById(id);

const state = {
  filter: { status: "", type: "", q: "" },
  jobs: [],                 // newest first, matching the filter
  nextCursor: null,
  selectedId: null,
  selected: null,
  stats: null,
  live: false,
  types: new Set(),
};

// -- small DOM helpers (text only: job data never goes through innerHTML) ----

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat())
    if (c !== null && c !== undefined && c !== false)
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}

function badge(status) {
  return el("span", { class: "badge " + status, "data-testid": "status" }, status);
}

// How far a job is, as its handler last reported: "42% · 120 of 300
// samples written" (either part may be missing).
function progressText(p) {
  const parts = [];
  if (p.fraction !== null && p.fraction !== undefined) parts.push(`${Math.floor(p.fraction * 100)}%`);
  if (p.message) parts.push(p.message);
  return parts.join(" · ");
}

// A progress bar (indeterminate when the fraction is unknown) titled with
// the report; null without progress.
function progressBar(job, testid) {
  const p = job.progress;
  if (!p) return null;
  const attrs = { class: "bar", max: "1", "data-testid": testid, title: progressText(p), "aria-label": `Progress: ${progressText(p)}` };
  if (p.fraction !== null && p.fraction !== undefined) attrs.value = String(p.fraction);
  return el("progress", attrs);
}

function shortId(id) {
  return id.slice(0, 10) + "…" + id.slice(-4);
}

function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  const now = new Date();
  const sameDay = d.toDateString() === now.toDateString();
  return sameDay ? d.toLocaleTimeString() : d.toLocaleString();
}

function fmtRelative(iso) {
  const ms = new Date(iso).getTime() - Date.now();
  const abs = Math.abs(ms);
  const unit = abs < 60e3 ? [1e3, "s"] : abs < 3600e3 ? [60e3, "min"] : abs < 86400e3 ? [3600e3, "h"] : [86400e3, "d"];
  const n = Math.round(abs / unit[0]);
  return ms >= 0 ? `in ${n} ${unit[1]}` : `${n} ${unit[1]} ago`;
}

function pretty(value) {
  if (value === null || value === undefined) return "null";
  return typeof value === "string" ? value : JSON.stringify(value, null, 2);
}

let toastTimer = null;
function toast(message, isError = false) {
  const t = $("toast");
  t.textContent = message;
  t.className = "toast" + (isError ? " error" : "");
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 3500);
}

// -- auth ------------------------------------------------------------------------

const TOKEN_KEY = "jobd.token";

function applyToken() {
  api.configure({ token: sessionStorage.getItem(TOKEN_KEY) || null });
}

let asking = null;
function askToken() {
  if (asking) return asking;
  const dialog = $("token-dialog");
  asking = new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        asking = null;
        if (dialog.returnValue === "ok" && $("token-input").value) {
          sessionStorage.setItem(TOKEN_KEY, $("token-input").value);
          applyToken();
          resolve(true);
        } else resolve(false);
      },
      { once: true },
    );
    dialog.showModal();
  });
  return asking;
}

// Runs an API call; on 401 asks for the token once and tries again.
async function call(fn) {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof api.JobsApiError && err.status === 401 && (await askToken())) {
      connectEvents();
      return fn();
    }
    throw err;
  }
}

// -- status cards and throughput --------------------------------------------------

function renderCards() {
  const by = (state.stats && state.stats.byStatus) || {};
  const cards = [["", "Total", state.stats ? state.stats.total : 0]].concat(
    STATUSES.map((s) => [s, s.charAt(0) + s.slice(1).toLowerCase(), by[s] ?? 0]),
  );
  $("cards").replaceChildren(
    ...cards.map(([status, label, value]) =>
      el(
        "button",
        {
          type: "button",
          class: "card " + status + (state.filter.status === status ? " active" : ""),
          "data-testid": "count-" + (status || "TOTAL"),
          title: status ? `Show ${label.toLowerCase()} jobs` : "Show all jobs",
          onclick: () => setFilter({ status }),
        },
        el("div", { class: "label" }, label),
        el("div", { class: "value" }, value.toLocaleString()),
      ),
    ),
  );
}

// The smallest of 1, 2, 5, 10, 20, 50, ... that is at least n.
function niceCeil(n) {
  for (let p = 1; ; p *= 10)
    for (const m of [1, 2, 5])
      if (m * p >= n) return m * p;
}

// The list's "Runs at": when a PENDING job is due, "running" while it runs,
// "—" once it is finished (its scheduledFor is history by then).
function runsAt(job) {
  if (job.status === "COMPLETED" || job.status === "FAILED" || job.status === "CANCELLED") return "—";
  if (job.status === "PROCESSING") return "running";
  return job.scheduledFor && new Date(job.scheduledFor).getTime() > Date.now() ? fmtRelative(job.scheduledFor) : "now";
}

function renderChart() {
  const t = state.stats && state.stats.throughput;
  const box = $("chart");
  if (!t) return;
  const buckets = t.buckets;
  const W = 600, H = 130, left = 28, bottom = 16, top = 6;
  const max = niceCeil(Math.max(1, ...buckets.map((b) => b.completed + b.failed)));
  const bw = (W - left) / buckets.length;
  const y = (v) => H - bottom - (v / max) * (H - bottom - top);
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: "none", role: "img", "aria-label": "Jobs finished per 10 seconds" });
  chart.append(svg("line", { class: "axis", x1: left, x2: W, y1: H - bottom, y2: H - bottom }));
  // Round ticks: the top (1, 2 or 5 x 10^k) and its half when whole.
  for (const v of max >= 2 ? [max, max / 2] : [max]) {
    const label = svg("text", { x: 2, y: y(v) + 3 });
    label.textContent = v;
    chart.append(label, svg("line", { class: "axis", x1: left, x2: W, y1: y(v), y2: y(v), "stroke-dasharray": "2 3" }));
  }
  buckets.forEach((b, i) => {
    const x = left + i * bw + 1;
    const hc = H - bottom - y(b.completed);
    const hf = H - bottom - y(b.failed);
    if (b.completed) chart.append(svg("rect", { class: "bar-c", x, y: y(b.completed), width: bw - 2, height: hc }));
    if (b.failed) chart.append(svg("rect", { class: "bar-f", x, y: y(b.completed) - hf, width: bw - 2, height: hf }));
    const title = svg("title");
    title.textContent = `${new Date(b.start).toLocaleTimeString()}: ${b.completed} completed, ${b.failed} failed`;
    const hit = svg("rect", { x, y: top, width: bw - 1, height: H - bottom - top, fill: "transparent" });
    hit.append(title);
    chart.append(hit);
  });
  for (const [x, anchor, text] of [[left, "start", "-10 min"], [W, "end", "now"]]) {
    const label = svg("text", { x, y: H - 3, "text-anchor": anchor });
    label.textContent = text;
    chart.append(label);
  }
  box.replaceChildren(chart);
  $("throughput-summary").textContent =
    `${t.completedLastMinute} completed / min · ${t.completedPerMinute} avg over 5 min` +
    (t.failedLastMinute ? ` · ${t.failedLastMinute} failed / min` : "");
}

function renderTypeOptions() {
  const select = $("filter-type");
  const current = state.filter.type;
  const types = [...state.types].sort();
  const have = [...select.options].map((o) => o.value).slice(1);
  if (have.join() === types.join()) return;
  select.replaceChildren(el("option", { value: "" }, "All"), ...types.map((t) => el("option", { value: t }, t)));
  select.value = current;
}

// One chip per type seen (in the counts, or paused): its pending count, and
// Pause or Resume. A paused type says since when, who and why.
function renderTypes() {
  const paused = new Map(((state.stats && state.stats.paused) || []).map((p) => [p.type, p]));
  const byType = (state.stats && state.stats.byType) || {};
  const types = [...new Set([...Object.keys(byType), ...paused.keys()])].sort();
  $("types").replaceChildren(
    ...types.map((t) => {
      const p = paused.get(t);
      const pending = (byType[t] && byType[t].PENDING) || 0;
      return el(
        "div",
        { class: "type-chip" + (p ? " paused" : ""), "data-testid": "type-" + t, "data-paused": p ? "true" : "false" },
        el("span", { class: "type-name" }, t),
        el("span", { class: "muted small" }, pending.toLocaleString() + " pending"),
        p ? el("span", { class: "type-paused", "data-testid": "type-paused-" + t, title: `${p.note} (since ${fmtTime(p.pausedAt)})` }, "paused") : null,
        el(
          "button",
          {
            type: "button",
            class: "ghost small",
            "data-testid": (p ? "resume-" : "pause-") + t,
            title: p ? "Let workers start its jobs again" : "No worker starts its jobs until resumed; running ones finish",
            onclick: () => pauseOrResume(t, !p),
          },
          p ? "Resume" : "Pause",
        ),
      );
    }),
  );
}

async function pauseOrResume(type, pause) {
  try {
    if (pause) {
      if (!confirm(`Pause ${type}? No worker starts its jobs until it is resumed; running jobs finish.`)) return;
      await call(() => api.pauseType(type, { by: "dashboard" }));
      toast("Paused " + type);
    } else {
      await call(() => api.resumeType(type));
      toast("Resumed " + type);
    }
  } catch (err) {
    toast(err.message, true);
  }
  refreshStats();
}

async function refreshStats() {
  try {
    state.stats = await call(() => api.getStats());
    for (const t of Object.keys(state.stats.byType)) state.types.add(t);
    renderCards();
    renderTypes();
    renderChart();
    renderTypeOptions();
    renderBulk();
  } catch (err) {
    if (!(err instanceof api.JobsApiError)) setLive(false);
  }
}

// -- scheduled jobs -------------------------------------------------------------------

async function refreshScheduled() {
  try {
    const page = await call(() => api.listJobs({ status: "PENDING", limit: 500 }));
    const now = Date.now();
    const future = page.jobs
      .filter((j) => j.scheduledFor && new Date(j.scheduledFor).getTime() > now)
      .sort((a, b) => a.scheduledFor.localeCompare(b.scheduledFor));
    $("scheduled-count").textContent = future.length ? `${future.length} waiting` : "";
    $("scheduled").replaceChildren(
      ...(future.length
        ? future.slice(0, 50).map((j) =>
            el(
              "li",
              { "data-testid": "scheduled-job", onclick: () => select(j.id), title: j.id },
              el("span", {}, el("span", { class: "mono" }, shortId(j.id)), " ", el("span", { class: "muted" }, j.type)),
              el("span", { title: new Date(j.scheduledFor).toString() }, fmtTime(j.scheduledFor), " ", el("span", { class: "muted small" }, fmtRelative(j.scheduledFor))),
            ),
          )
        : [el("li", { class: "muted" }, "Nothing scheduled ahead.")]),
    );
  } catch {
    /* shown by the list */
  }
}

// -- external workers --------------------------------------------------------------

const WORKER_JOBS_SHOWN = 3;

// One row per external worker seen in the last day (GET /api/workers): its
// id and whether it is online, host, types, when it was last seen, and the
// jobs it holds (each opens the job). Hidden while there is none.
async function refreshWorkers() {
  let list;
  try {
    list = (await call(() => api.listWorkers())).workers;
  } catch {
    return; /* shown by the list */
  }
  const online = list.filter((w) => w.online).length;
  $("workers").hidden = list.length === 0;
  $("workers-count").textContent = list.length ? `${online} online, ${list.length - online} offline` : "";
  $("workers-rows").replaceChildren(
    ...list.map((w) =>
      el(
        "tr",
        { "data-testid": "worker-row", "data-id": w.id, "data-online": w.online ? "true" : "false" },
        el("td", { class: "mono" }, w.id, el("span", { class: "worker-state " + (w.online ? "online" : "offline"), "data-testid": "worker-state" }, w.online ? "online" : "offline")),
        el("td", { "data-testid": "worker-host" }, w.host || "—"),
        el("td", { "data-testid": "worker-types" }, w.types.join(", ") || "—"),
        el("td", { "data-testid": "worker-seen", title: w.lastSeenAt }, fmtRelative(w.lastSeenAt)),
        el(
          "td",
          { class: "jobs-held mono", "data-testid": "worker-jobs", "data-count": String(w.jobs.length) },
          w.jobs.length === 0 ? el("span", { class: "muted" }, "none") : null,
          ...w.jobs.slice(0, WORKER_JOBS_SHOWN).map((id) =>
            el("a", { href: "#", "data-testid": "worker-job", title: id, onclick: (e) => (e.preventDefault(), select(id)) }, shortId(id)),
          ),
          w.jobs.length > WORKER_JOBS_SHOWN ? el("span", { class: "muted small" }, ` +${w.jobs.length - WORKER_JOBS_SHOWN} more`) : null,
        ),
      ),
    ),
  );
}

// -- recurring schedules -------------------------------------------------------------

// One row per schedule: its cron (and zone), job type, last run (opens its
// job), next run, and Pause/Resume and Run now.
async function refreshSchedules() {
  let list;
  try {
    list = (await call(() => api.listSchedules())).schedules;
  } catch {
    return; /* shown by the list */
  }
  $("recurring-count").textContent = list.length ? `${list.length} schedule${list.length === 1 ? "" : "s"}` : "";
  $("schedules-empty").hidden = list.length > 0;
  $("schedules").replaceChildren(
    ...list.map((s) =>
      el(
        "tr",
        { "data-testid": "schedule-" + s.name, "data-paused": s.paused ? "true" : "false" },
        el("td", { class: "mono" }, s.name, s.source === "config" ? el("span", { class: "muted small", title: "Defined in the config file" }, " (config)") : null),
        el("td", { class: "mono", title: s.missed === "catch_up" ? `Missed runs within ${Math.round(s.catchUpMs / 60000)} min are caught up` : "Missed runs are skipped" }, s.cron, s.timeZone !== "UTC" ? el("span", { class: "muted small" }, " " + s.timeZone) : null),
        el("td", {}, s.type),
        el(
          "td",
          { "data-testid": "schedule-last" },
          s.lastJobId
            ? el("a", { href: "#", onclick: (e) => (e.preventDefault(), select(s.lastJobId)), title: s.lastJobId }, s.lastRunAt ? fmtRelative(s.lastRunAt) : "by hand")
            : el("span", { class: "muted" }, "never"),
        ),
        el("td", { "data-testid": "schedule-next", title: s.nextRunAt || "" }, s.paused ? el("span", { class: "type-paused" }, "paused") : s.nextRunAt ? `${fmtTime(s.nextRunAt)} (${fmtRelative(s.nextRunAt)})` : "—"),
        el(
          "td",
          { class: "actions" },
          el("button", { type: "button", class: "ghost small", "data-testid": (s.paused ? "schedule-resume-" : "schedule-pause-") + s.name, onclick: () => scheduleAction(s.name, s.paused ? "resume" : "pause") }, s.paused ? "Resume" : "Pause"),
          el("button", { type: "button", class: "ghost small", "data-testid": "schedule-run-" + s.name, title: "Create one job from it now", onclick: () => scheduleAction(s.name, "run") }, "Run now"),
        ),
      ),
    ),
  );
}

async function scheduleAction(name, action) {
  try {
    if (action === "pause") {
      if (!confirm(`Pause schedule ${name}? No run is created until it is resumed.`)) return;
      await call(() => api.pauseSchedule(name));
      toast("Paused schedule " + name);
    } else if (action === "resume") {
      await call(() => api.resumeSchedule(name));
      toast("Resumed schedule " + name);
    } else {
      const job = await call(() => api.runSchedule(name));
      toast(`Ran ${name}: job ${shortId(job.id)}`);
      select(job.id);
    }
  } catch (err) {
    toast(err.message, true);
  }
  refreshSchedules();
}

// -- the job list ------------------------------------------------------------------

// Whether a job the event stream reports belongs in the list. A search
// matches as the server's does as far as the page can tell: an id prefix,
// or the text in the error or in the payload as JSON.
function matchesSearch(job) {
  const q = state.filter.q;
  if (!q) return true;
  if (job.id.startsWith(q.toUpperCase())) return true;
  return (job.error || "").includes(q) || JSON.stringify(job.payload ?? null).includes(q);
}

function matchesFilter(job) {
  return (!state.filter.status || job.status === state.filter.status) && (!state.filter.type || job.type === state.filter.type) && matchesSearch(job);
}

function row(job, flash = false) {
  return el(
    "tr",
    {
      class: (job.id === state.selectedId ? "selected" : "") + (flash ? " flash" : ""),
      "data-testid": "job-row",
      // One tab stop for the list (the selected row); arrows move within.
      tabindex: job.id === state.selectedId ? "0" : "-1",
      "aria-selected": job.id === state.selectedId ? "true" : "false",
      dataset: { id: job.id, status: job.status },
      onclick: () => select(job.id),
    },
    el("td", { class: "mono", title: job.id }, shortId(job.id)),
    el("td", {}, job.type),
    el("td", {}, badge(job.status), job.status === "PROCESSING" ? progressBar(job, "row-progress") : null),
    el("td", { class: "num" }, job.priority),
    el("td", { class: "num", title: `attempt ${job.attempt}` }, `${job.retryCount}/${job.maxRetries}`),
    el("td", { title: job.createdAt }, fmtTime(job.createdAt)),
    el("td", { title: job.scheduledFor || "", "data-testid": "runs-at" }, runsAt(job)),
  );
}

function renderList(flashId = null) {
  const hadFocus = $("jobs").contains(document.activeElement);
  $("jobs").replaceChildren(...state.jobs.map((j) => row(j, j.id === flashId)));
  const rows = $("jobs").querySelectorAll('tr[data-testid="job-row"]');
  const current = [...rows].find((r) => r.dataset.id === state.selectedId);
  if (!current && rows.length) rows[0].tabIndex = 0;
  // Re-rendering replaces the rows: keep the keyboard where it was.
  if (hadFocus) (current || rows[0])?.focus();
  $("jobs-empty").hidden = state.jobs.length > 0;
  $("more").hidden = !state.nextCursor;
}

let listRequest = 0;
async function refreshList() {
  const mine = ++listRequest;
  try {
    const page = await call(() => api.listJobs({ ...state.filter, limit: PAGE }));
    if (mine !== listRequest) return; // a newer filter won
    state.jobs = page.jobs;
    state.nextCursor = page.nextCursor;
    for (const j of page.jobs) state.types.add(j.type);
    renderList();
    renderTypeOptions();
  } catch (err) {
    toast("Could not load jobs: " + err.message, true);
  }
}

async function loadMore() {
  try {
    const page = await call(() => api.listJobs({ ...state.filter, limit: PAGE, cursor: state.nextCursor }));
    state.jobs = state.jobs.concat(page.jobs);
    state.nextCursor = page.nextCursor;
    renderList();
  } catch (err) {
    toast(err.message, true);
  }
}

function setFilter(change) {
  Object.assign(state.filter, change);
  $("filter-status").value = state.filter.status;
  $("filter-type").value = state.filter.type;
  renderCards();
  renderBulk();
  refreshList();
}

// A change from the event stream: keep the list in place without a reload.
// Whether `a` is a later version of a job than `b`: a later updatedAt, or
// the same millisecond and a later attempt (a retry's reply and the run it
// started can share one millisecond).
function newer(a, b) {
  return a.updatedAt > b.updatedAt || (a.updatedAt === b.updatedAt && a.attempt > b.attempt);
}

function applyChange(job) {
  state.types.add(job.type);
  const i = state.jobs.findIndex((j) => j.id === job.id);
  // Events and replies race (the event stream may already have reported the
  // run that a retry reply precedes): never go back to an older version.
  if (i >= 0 && newer(state.jobs[i], job)) return;
  if (matchesFilter(job)) {
    if (i >= 0) state.jobs[i] = job;
    else {
      // Ids sort by creation: insert in newest-first order.
      const at = state.jobs.findIndex((j) => j.id < job.id);
      if (at === -1) {
        if (!state.nextCursor) state.jobs.push(job);
      } else state.jobs.splice(at, 0, job);
      if (state.jobs.length > PAGE * 3) state.jobs.length = PAGE * 3;
    }
  } else if (i >= 0) state.jobs.splice(i, 1);
  renderList(job.id);
  if (job.id === state.selectedId && !(state.selected && newer(state.selected, job))) {
    state.selected = job;
    renderDetail();
  }
  scheduleStats();
}

function applyDelete(id) {
  state.jobs = state.jobs.filter((j) => j.id !== id);
  renderList();
  if (id === state.selectedId) {
    state.selected = null;
    state.selectedId = null;
    renderDetail();
  }
  scheduleStats();
}

let statsTimer = null;
function scheduleStats() {
  if (statsTimer) return;
  statsTimer = setTimeout(() => {
    statsTimer = null;
    refreshStats();
    refreshScheduled();
  }, 400);
}

// -- the detail panel ----------------------------------------------------------------

async function select(id) {
  state.selectedId = id;
  renderList();
  try {
    state.selected = await call(() => api.getJob(id));
  } catch (err) {
    state.selected = null;
    $("detail").replaceChildren(el("div", { class: "empty", "data-testid": "detail-error" }, err.status === 404 ? `No job with id ${id}.` : err.message));
    return;
  }
  renderDetail();
}

// "nightly (held while PENDING, PROCESSING; until <time>)": when a job with
// the same key would be a duplicate of this one.
function uniqueText(j) {
  const until = j.uniqueUntil ? `; until ${fmtTime(j.uniqueUntil)}` : "";
  return `${j.uniqueKey} (held while ${(j.uniqueStates || []).join(", ")}${until})`;
}

// The selected job's attempts (GET /api/jobs/{id}/attempts), fetched again
// only when its attempt or status changes, not on every progress report.
const attempts = { key: null, history: null, error: null };

function loadAttempts(j) {
  const key = `${j.id}:${j.attempt}:${j.status}`;
  if (attempts.key === key) return;
  attempts.key = key;
  call(() => api.getJobAttempts(j.id)).then(
    (history) => {
      if (attempts.key !== key) return;
      attempts.history = history;
      attempts.error = null;
      renderDetail();
    },
    (err) => {
      if (attempts.key !== key) return;
      attempts.history = null;
      attempts.error = err.message;
      renderDetail();
    },
  );
}

function fmtDuration(fromIso, toIso) {
  if (!fromIso || !toIso) return "";
  const ms = new Date(toIso).getTime() - new Date(fromIso).getTime();
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60e3) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60e3)} min`;
}

// Each attempt: number, outcome, worker, start, how long, why it ended.
function attemptsView(j) {
  if (attempts.key !== `${j.id}:${j.attempt}:${j.status}` || (!attempts.history && !attempts.error))
    return el("div", { class: "muted", "data-testid": "detail-attempts" }, "Loading…");
  if (attempts.error) return el("div", { class: "error", "data-testid": "detail-attempts" }, attempts.error);
  const list = attempts.history.attempts;
  if (list.length === 0) return el("div", { class: "muted", "data-testid": "detail-attempts" }, "Not run yet.");
  const rows = list.map((a) =>
    el("tr", { "data-testid": "attempt-row", dataset: { outcome: a.outcome } },
      el("td", {}, `#${a.attempt}`),
      el("td", {}, el("span", { class: "outcome " + a.outcome }, a.outcome.replace("_", " "))),
      el("td", { class: "mono", title: a.worker || "" }, a.worker || "—"),
      el("td", { title: a.startedAt || "" }, fmtTime(a.startedAt)),
      el("td", {}, a.endedAt ? fmtDuration(a.startedAt, a.endedAt) : "running"),
      el("td", { class: "attempt-error" }, a.error || ""),
    ),
  );
  return el("div", { "data-testid": "detail-attempts" },
    attempts.history.truncated ? el("div", { class: "muted" }, `The newest ${list.length} attempts:`) : null,
    el("table", { class: "attempts" },
      el("thead", {}, el("tr", {}, ...["#", "Outcome", "Worker", "Started", "Took", "Error"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ...rows)));
}

function renderDetail() {
  const j = state.selected;
  const box = $("detail");
  if (j) loadAttempts(j);
  if (!j) {
    box.replaceChildren(el("div", { class: "empty" }, "Select a job to see its payload, result and error."));
    return;
  }
  const retry = el("button", { type: "button", class: "primary", "data-testid": "retry", disabled: j.status !== "FAILED", title: "Run it again (FAILED jobs only)", onclick: () => act("retry", j.id) }, "Retry");
  const cancellable = j.status === "PENDING" || j.status === "PROCESSING";
  const cancel = el("button", { type: "button", "data-testid": "cancel", disabled: !cancellable, title: cancellable ? (j.status === "PROCESSING" ? "Stop it (its handler is told to stop)" : "It will not run") : "Only a PENDING or PROCESSING job can be cancelled", onclick: () => act("cancel", j.id) }, "Cancel");
  const del = el("button", { type: "button", class: "danger", "data-testid": "delete", disabled: j.status === "PROCESSING", title: j.status === "PROCESSING" ? "A running job cannot be deleted" : "Delete this job", onclick: () => act("delete", j.id) }, "Delete");
  const fields = [
    ["Type", j.type],
    ["Status", badge(j.status)],
    ["Priority", j.priority],
    ["Attempts", `${j.attempt} (retries ${j.retryCount} of ${j.maxRetries})`],
    j.timeoutMs ? ["Timeout", el("span", { "data-testid": "detail-timeout" }, `${j.timeoutMs} ms per attempt`)] : null,
    ["Runs at", j.scheduledFor ? `${fmtTime(j.scheduledFor)} (${fmtRelative(j.scheduledFor)})` : "—"],
    ["Created", fmtTime(j.createdAt)],
    ["Started", fmtTime(j.startedAt)],
    ["Finished", fmtTime(j.completedAt)],
    ["Updated", fmtTime(j.updatedAt)],
    j.progress ? ["Progress", el("span", { class: "progress", "data-testid": "detail-progress" }, progressBar(j, "detail-progress-bar"), " ", progressText(j.progress) || "reported")] : null,
    j.lockedBy ? ["Worker", j.lockedBy] : null,
    j.uniqueKey ? ["Unique key", el("span", { "data-testid": "detail-unique" }, uniqueText(j))] : null,
  ].filter(Boolean);
  box.replaceChildren(
    ...[
    el("h3", { class: "mono", "data-testid": "detail-id" }, j.id),
    el("div", { class: "actions" }, retry, cancel, del),
    el("dl", {}, ...fields.flatMap(([k, v]) => [el("dt", {}, k), el("dd", {}, v)])),
    el("h4", {}, "Payload"),
    el("pre", { "data-testid": "detail-payload" }, pretty(j.payload)),
    el("h4", {}, "Result"),
    el("pre", { "data-testid": "detail-result" }, pretty(j.result)),
    j.error ? el("h4", {}, "Error") : null,
    j.error ? el("pre", { class: "error", "data-testid": "detail-error-text" }, j.error) : null,
    el("h4", {}, "Attempt history"),
    attemptsView(j),
    ].filter(Boolean),
  );
}

async function act(what, id) {
  try {
    if (what === "retry") {
      const job = await call(() => api.retryJob(id));
      applyChange(job);
      toast("Retrying " + shortId(id));
    } else if (what === "cancel") {
      if (!confirm(`Cancel job ${id}? A cancelled job does not run again.`)) return;
      const job = await call(() => api.cancelJob(id, { by: "dashboard" }));
      applyChange(job);
      toast("Cancelled " + shortId(id));
    } else {
      if (!confirm(`Delete job ${id}?`)) return;
      await call(() => api.deleteJob(id));
      applyDelete(id);
      toast("Deleted " + shortId(id));
    }
  } catch (err) {
    toast(err.message, true);
    if (state.selectedId === id) select(id);
  }
}

// -- bulk actions: every job matching the filter ------------------------------------

// How many jobs of `statuses` match the type filter, from the exact counts.
function countMatching(statuses) {
  const stats = state.stats;
  if (!stats) return 0;
  const by = state.filter.type ? stats.byType[state.filter.type] || {} : stats.byStatus;
  return statuses.reduce((n, s) => n + (by[s] || 0), 0);
}

// What each bulk button acts on under the current filter: the statuses (the
// status filter's, when the action applies to it) and how many match.
function bulkScope(action) {
  const applies = { retry: ["FAILED"], cancel: ["PENDING", "PROCESSING"], delete: FINISHED }[action];
  const status = state.filter.status;
  const statuses = !status ? (action === "cancel" ? ["PENDING"] : applies) : applies.includes(status) ? [status] : [];
  return { statuses, count: countMatching(statuses) };
}

function renderBulk() {
  for (const action of ["retry", "cancel", "delete"]) {
    const { statuses, count } = bulkScope(action);
    const b = $("bulk-" + action);
    b.disabled = statuses.length === 0 || count === 0 || !!state.filter.q;
    b.title = state.filter.q
      ? "Clear the search first: bulk actions act on the status and type filter"
      : `${count.toLocaleString()} ${statuses.join("/") || "matching"} job(s)` + (state.filter.type ? " of " + state.filter.type : "");
  }
}

async function bulk(action) {
  const { statuses, count } = bulkScope(action);
  if (statuses.length === 0 || count === 0) return;
  const type = state.filter.type || null;
  const what = `${statuses.join("/")} ${type ? type + " " : ""}job${count === 1 ? "" : "s"}`;
  const capped = count > BULK_MAX ? ` At most ${BULK_MAX.toLocaleString()} per click: click again for the rest.` : "";
  const request = { action, type, max: BULK_MAX };
  if (statuses.length === 1) request.status = statuses[0];
  if (action === "retry") {
    if (!confirm(`Retry all ${count.toLocaleString()} ${what}? They run again from the start.${capped}`)) return;
  } else if (action === "cancel") {
    if (!confirm(`Cancel all ${count.toLocaleString()} ${what}? Cancelled jobs do not run again.${capped}`)) return;
    request.by = "dashboard";
  } else {
    const answer = prompt(
      `Delete ${count.toLocaleString()} ${what} that finished more than how many days ago? 0 deletes all of them.${capped}`,
      "7",
    );
    if (answer === null) return;
    const days = Number(answer.trim());
    if (answer.trim() === "" || !Number.isFinite(days) || days < 0) {
      toast(`"${answer}" is not a number of days`, true);
      return;
    }
    if (days > 0) request.finishedBefore = new Date(Date.now() - days * 86400000).toISOString();
  }
  try {
    const res = await call(() => api.bulkJobs(request));
    const done = { retry: "Retried", cancel: "Cancelled", delete: "Deleted" }[action];
    toast(`${done} ${res.changed.toLocaleString()} of ${res.matched.toLocaleString()}` +
          (res.skipped ? ` (${res.skipped} skipped)` : "") + (res.more ? "; more match: click again" : ""));
  } catch (err) {
    toast(err.message, true);
  }
  refreshList();
  refreshStats();
}

// -- live updates ------------------------------------------------------------------

let closeEvents = null;
let pollTimer = null;

function setLive(on) {
  state.live = on;
  const live = $("live");
  live.textContent = on ? "Live" : "Polling";
  live.className = "live " + (on ? "on" : "poll");
  live.dataset.mode = on ? "live" : "poll";
}

function connectEvents() {
  if (closeEvents) closeEvents();
  closeEvents = api.subscribe({
    onOpen: () => {
      const wasLive = state.live;
      setLive(true);
      // Changes made while disconnected are not replayed: reload once.
      if (!wasLive) {
        refreshList();
        refreshStats();
      }
    },
    onJob: applyChange,
    onDeleted: applyDelete,
    onReset: () => {
      refreshList();
      refreshStats();
    },
    onError: () => setLive(false), // EventSource reconnects by itself
  });
  if (!closeEvents) setLive(false);
}

function startPolling() {
  clearInterval(pollTimer);
  pollTimer = setInterval(() => {
    if (!state.live) {
      refreshList();
      refreshScheduled();
      if (state.selectedId) select(state.selectedId);
    }
    refreshStats();
  }, Math.min(POLL_MS, STATS_MS));
}

// -- start -----------------------------------------------------------------------------

function init() {
  applyToken();
  $("filter-status").addEventListener("change", (e) => setFilter({ status: e.target.value }));
  $("filter-type").addEventListener("change", (e) => setFilter({ type: e.target.value }));
  $("more").addEventListener("click", loadMore);
  for (const action of ["retry", "cancel", "delete"]) $("bulk-" + action).addEventListener("click", () => bulk(action));
  // Keyboard: Up/Down (and Home/End) move through the list and open the
  // job; Enter opens the focused one.
  $("jobs").addEventListener("keydown", (e) => {
    const rows = [...$("jobs").querySelectorAll('tr[data-testid="job-row"]')];
    const i = rows.indexOf(document.activeElement);
    const next = { ArrowDown: Math.min(rows.length - 1, i + 1), ArrowUp: Math.max(0, i - 1),
                   Home: 0, End: rows.length - 1, Enter: i }[e.key];
    if (next === undefined || next < 0 || !rows[next]) return;
    e.preventDefault();
    rows[next].focus();
    select(rows[next].dataset.id);
  });
  // A whole id opens the job; other text lists the jobs it finds (an id
  // prefix, or text in a payload or error); empty clears the search.
  $("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("search-id").value.trim();
    if (/^[0-9A-Za-z]{26}$/.test(text)) {
      select(text.toUpperCase());
      return;
    }
    setFilter({ q: text });
  });
  $("search-id").addEventListener("search", () => {
    if (!$("search-id").value && state.filter.q) setFilter({ q: "" });
  });
  $("token-button").addEventListener("click", async () => {
    if (await askToken()) {
      refreshList();
      refreshStats();
      refreshScheduled();
      refreshSchedules();
      refreshWorkers();
    }
  });
  renderCards();
  renderBulk();
  refreshList();
  refreshStats();
  refreshScheduled();
  refreshSchedules();
  refreshWorkers();
  connectEvents();
  startPolling();
  setInterval(refreshScheduled, 15000); // relative times move on
  setInterval(refreshSchedules, 5000);
  setInterval(refreshWorkers, 5000); // sightings are written every 5 s
}

init();
