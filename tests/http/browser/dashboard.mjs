// Drives the /jobs dashboard in a chromium that the C++ test started (it
// passes the DevTools endpoint), using playwright-core over CDP:
//   node dashboard.mjs <jobd url> <cdp url> <screenshot path>
// Checks: created jobs are listed live, the status and type filters work,
// a job's result shows pretty-printed, search by id finds a job, a text
// search lists the jobs whose payload holds it (live too), a
// scheduled job shows its run time, and Retry turns a FAILED job into a
// PENDING/COMPLETED one, a running job's progress shows as a bar, and a
// type's chip pauses and resumes it, a recurring schedule shows its next
// run and is paused, run now and resumed from its row, and the bulk
// buttons retry, cancel and delete every job matching the filter after
// a confirm naming the count; a job's detail lists its attempts (running,
// cancelled with who, each failure with its error); an external worker
// shows in the workers panel with its host, types, state and the jobs it
// holds. Exits non-zero with a message on the first failure.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

// playwright-core is installed in ../node (one package.json for node tests).
const require = createRequire(new URL("../node/package.json", import.meta.url));
const { chromium } = require("playwright-core");

const [base, cdp, screenshot] = process.argv.slice(2);
if (!base || !cdp || !screenshot) {
  console.error("usage: node dashboard.mjs <jobd url> <cdp url> <screenshot path>");
  process.exit(2);
}

function check(cond, what) {
  if (!cond) throw new Error("check failed: " + what);
  console.log("ok - " + what);
}

async function api(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function waitJob(id, status) {
  const until = Date.now() + 10000;
  while (Date.now() < until) {
    const j = await api("GET", "/api/jobs/" + id);
    if (j.status === status) return j;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`job ${id} did not become ${status}`);
}

const browser = await chromium.connectOverCDP(cdp);
let failed = false;
try {
  const context = browser.contexts()[0] || (await browser.newContext());
  const page = await context.newPage();
  await page.setViewportSize({ width: 1440, height: 900 });
  page.on("pageerror", (err) => console.error("page error:", err.message));
  const errors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") errors.push(msg.text());
  });

  // Some history before the page opens: done, failed and scheduled jobs.
  const done = await api("POST", "/api/jobs", { type: "ECHO", payload: { greeting: "hello", items: [1, 2, 3] } });
  const broken = await api("POST", "/api/jobs", {
    type: "ECHO",
    payload: { fail: true, permanent: true, error: "upstream said no" },
  });
  const later = await api("POST", "/api/jobs", { type: "ECHO", scheduledFor: "2099-06-01T12:00:00Z", priority: 7, timeoutMs: 90000 });
  await waitJob(done.id, "COMPLETED");
  await waitJob(broken.id, "FAILED");

  await page.goto(base + "/jobs", { waitUntil: "domcontentloaded" });
  const row = (id) => page.locator(`tr[data-testid="job-row"][data-id="${id}"]`);
  await row(done.id).waitFor();
  check(true, "the dashboard lists existing jobs");
  await page.locator('[data-testid="live"][data-mode="live"]').waitFor();
  check(true, "the event stream is connected");

  // The list's columns: retries used/allowed, and "Runs at" only while a
  // job is still to run.
  const cell = (id, testid) => row(id).locator(`[data-testid="${testid}"]`).textContent();
  check((await page.locator("table.jobs thead").textContent()).includes("Retries"), "the list has a Retries column");
  check((await row(broken.id).locator("td").nth(4).textContent()) === "0/3", "a job's retries read used/allowed");
  check((await cell(done.id, "runs-at")) === "—", "a finished job has no run time");
  check(/^in \d+ d$/.test(await cell(later.id, "runs-at")), "a scheduled job shows when it runs");
  // The chart's y ticks are round numbers (1, 2 or 5 x 10^k and its half).
  await page.locator('[data-testid="chart"] svg').waitFor();
  const ticks = await page.$$eval('[data-testid="chart"] svg > text', (ts) => ts.map((t) => t.textContent));
  const nice = (v) => /^[125]0*$/.test(v);
  check(ticks.length >= 3 && nice(ticks[0]) && (ticks[1] === "-10 min" || Number(ticks[1]) * 2 === Number(ticks[0])),
        "the chart's y ticks are round: " + ticks.join(" "));

  // Live: a job created now appears without a reload and completes.
  const fresh = await api("POST", "/api/jobs", { type: "ECHO", payload: { fresh: true } });
  await page.locator(`tr[data-id="${fresh.id}"][data-status="COMPLETED"]`).waitFor();
  check(true, "a new job shows up live and reaches COMPLETED");
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="count-COMPLETED"] .value').textContent.replace(/\D/g, "")) >= 2);
  check(true, "the status counts follow");

  // Filters.
  await page.selectOption('[data-testid="filter-status"]', "FAILED");
  await page.waitForFunction(
    (ids) => {
      const rows = [...document.querySelectorAll('tr[data-testid="job-row"]')];
      return rows.length > 0 && rows.every((r) => r.dataset.status === "FAILED") && rows.some((r) => r.dataset.id === ids.broken);
    },
    { broken: broken.id },
  );
  check((await row(done.id).count()) === 0, "the status filter hides COMPLETED jobs");
  await page.selectOption('[data-testid="filter-status"]', "");
  await page.selectOption('[data-testid="filter-type"]', "ECHO");
  await row(done.id).waitFor();
  check((await row(broken.id).count()) === 1, "the type filter keeps ECHO jobs");
  await page.selectOption('[data-testid="filter-type"]', "");

  // A job's result, pretty-printed.
  await row(done.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: done.id }).waitFor();
  const result = await page.locator('[data-testid="detail-result"]').textContent();
  check(JSON.parse(result).greeting === "hello" && result.includes("\n"), "the detail shows the result pretty-printed");

  // Search by id.
  await page.fill('[data-testid="search-id"]', later.id.toLowerCase());
  await page.press('[data-testid="search-id"]', "Enter");
  await page.locator('[data-testid="detail-id"]', { hasText: later.id }).waitFor();
  check(true, "search by id opens the job");
  check((await page.locator('[data-testid="detail-timeout"]').textContent()) === "90000 ms per attempt", "the detail shows the job's own timeout");
  const scheduled = await page.locator('[data-testid="scheduled-job"]').first().textContent();
  check(scheduled.includes(later.id.slice(0, 10)) && /in \d+ d/.test(scheduled), "the scheduled list shows the run time");

  // Search: text in a payload lists the jobs holding it, live too; an id
  // prefix lists its job; an empty search lists everything again.
  await page.fill('[data-testid="search-id"]', "hello");
  await page.press('[data-testid="search-id"]', "Enter");
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('tr[data-testid="job-row"]')];
    return rows.length === 1 && rows[0].dataset.id === id;
  }, done.id);
  check(true, "a text search lists the job whose payload holds it");
  const plain = await api("POST", "/api/jobs", { type: "ECHO", payload: { other: "words" } });
  const echoed = await api("POST", "/api/jobs", { type: "ECHO", payload: { say: "hello again" } });
  await row(echoed.id).waitFor();
  check((await row(plain.id).count()) === 0 && (await row(done.id).count()) === 1, "a new job that matches joins the search's list live; one that does not stays out");
  await page.fill('[data-testid="search-id"]', later.id.slice(0, 20).toLowerCase());
  await page.press('[data-testid="search-id"]', "Enter");
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('tr[data-testid="job-row"]')];
    return rows.length >= 1 && rows.every((r) => r.dataset.id.startsWith(id.slice(0, 20))) && rows.some((r) => r.dataset.id === id);
  }, later.id);
  check(true, "an id prefix (any case) lists its job");
  await page.fill('[data-testid="search-id"]', "");
  await page.press('[data-testid="search-id"]', "Enter");
  await row(plain.id).waitFor();
  check((await row(done.id).count()) === 1, "an empty search lists every job again");

  // A unique job's detail says its key, the states that hold it and until when.
  const keyed = await api("POST", "/api/jobs", { type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z", uniqueKey: "nightly-digest", uniqueStates: ["PENDING", "PROCESSING"], uniquePeriodMs: 86400000 });
  await page.fill('[data-testid="search-id"]', keyed.id);
  await page.press('[data-testid="search-id"]', "Enter");
  await page.locator('[data-testid="detail-id"]', { hasText: keyed.id }).waitFor();
  const unique = await page.locator('[data-testid="detail-unique"]').textContent();
  check(unique.startsWith("nightly-digest (held while PENDING, PROCESSING; until ") && unique.endsWith(")"), `the detail shows the unique key: ${unique}`);
  await row(done.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: done.id }).waitFor();
  check((await page.locator('[data-testid="detail-unique"]').count()) === 0, "a job without a key shows none");

  // Retry: a FAILED job goes back to PENDING and runs again. Make it one
  // that can succeed: settle a scheduled job as FAILED by hand.
  const doomed = await api("POST", "/api/jobs", { type: "ECHO", payload: { second: "chance" }, scheduledFor: "2099-01-01T00:00:00Z" });
  await api("PATCH", "/api/jobs/" + doomed.id, { status: "FAILED", error: "marked failed by the test" });
  await page.locator(`tr[data-id="${doomed.id}"][data-status="FAILED"]`).waitFor();
  await row(doomed.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: doomed.id }).waitFor();
  check((await page.locator('[data-testid="detail-error-text"]').textContent()).includes("marked failed"), "the detail shows the error");
  await page.click('[data-testid="retry"]');
  await page.locator(`tr[data-id="${doomed.id}"][data-status="COMPLETED"]`).waitFor({ timeout: 5000 }).catch(async (err) => {
    console.error("job now:", JSON.stringify(await api("GET", "/api/jobs/" + doomed.id)));
    console.error("row:", await row(doomed.id).evaluate((r) => r.outerHTML).catch(() => "none"));
    console.error("toast:", await page.locator("#toast").textContent());
    throw err;
  });
  check(true, "Retry turns the FAILED job into COMPLETED");
  const after = await api("GET", "/api/jobs/" + doomed.id);
  check(after.status === "COMPLETED" && after.error === null, "the API agrees after the retry");

  // Cancel: a running job stops and shows CANCELLED with who; a finished
  // job's Cancel button is disabled.
  const long = await api("POST", "/api/jobs", { type: "ECHO", payload: { delayMs: 600000 } });
  await page.locator(`tr[data-id="${long.id}"][data-status="PROCESSING"]`).waitFor();
  // Its progress (ECHO reports the time waited) arrives live as a bar in
  // the row and as text in the detail.
  await row(long.id).locator('[data-testid="row-progress"]').waitFor({ timeout: 10000 });
  const rowBar = row(long.id).locator('[data-testid="row-progress"]');
  check(/waited \d+ of 600000 ms/.test(await rowBar.getAttribute("title")), "a running job's row shows a progress bar titled with its report");
  check(Number(await rowBar.evaluate((b) => b.value)) < 0.5, "the bar's value is the reported fraction");
  await row(long.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: long.id }).waitFor();
  const shownProgress = await page.locator('[data-testid="detail-progress"]').textContent();
  check(/^ ?\d+% · waited \d+ of 600000 ms$/.test(shownProgress.trim()), `the detail shows the progress as text: ${shownProgress}`);
  check((await page.locator('[data-testid="detail-progress-bar"]').count()) === 1, "the detail shows a progress bar");
  const attemptRows = page.locator('[data-testid="detail-attempts"] [data-testid="attempt-row"]');
  await page.locator('[data-testid="attempt-row"][data-outcome="running"]').waitFor();
  check((await attemptRows.count()) === 1 && (await attemptRows.first().textContent()).includes("running"),
        "the attempt history shows the running attempt");
  page.once("dialog", (d) => d.accept());
  await page.click('[data-testid="cancel"]');
  await page.locator(`tr[data-id="${long.id}"][data-status="CANCELLED"]`).waitFor();
  const stoppedJob = await api("GET", "/api/jobs/" + long.id);
  check(stoppedJob.status === "CANCELLED" && stoppedJob.error === "cancelled by dashboard", `Cancel stops a running job: ${stoppedJob.status} ${stoppedJob.error}`);
  await page.locator('[data-testid="attempt-row"][data-outcome="cancelled"]').waitFor();
  check((await attemptRows.count()) === 1 && (await attemptRows.first().textContent()).includes("cancelled by dashboard"),
        "the attempt history shows the attempt cancelled, with who");
  // A job that failed twice lists both attempts, each with its error.
  const flaky = await api("POST", "/api/jobs", { type: "ECHO", maxRetries: 1, payload: { fail: true, error: "upstream said 503" } });
  await waitJob(flaky.id, "FAILED");
  await row(flaky.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: flaky.id }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="attempt-row"][data-outcome="failed"]').length === 2);
  const flakyRows = await attemptRows.allTextContents();
  check(flakyRows.length === 2 && flakyRows[0].startsWith("#1") && flakyRows[1].startsWith("#2") && flakyRows.every((t) => t.includes("upstream said 503")),
        `the attempt history lists both failed attempts in order: ${JSON.stringify(flakyRows)}`);
  check(await page.locator('[data-testid="cancel"]').isDisabled(), "a CANCELLED job cannot be cancelled again");
  await page.selectOption('[data-testid="filter-status"]', "CANCELLED");
  await page.waitForFunction((id) => {
    const rows = [...document.querySelectorAll('tr[data-testid="job-row"]')];
    return rows.length > 0 && rows.every((r) => r.dataset.status === "CANCELLED") && rows.some((r) => r.dataset.id === id);
  }, long.id);
  check(true, "the status filter shows CANCELLED jobs");
  await page.selectOption('[data-testid="filter-status"]', "");
  check((await page.locator('[data-testid="card-CANCELLED"], .card.CANCELLED').count()) >= 1, "a card counts CANCELLED jobs");
  await row(done.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: done.id }).waitFor();
  check(await page.locator('[data-testid="cancel"]').isDisabled(), "a COMPLETED job's Cancel is disabled");

  // Pause and resume a type from its chip: a job created while it is
  // paused starts only after Resume.
  await page.locator('[data-testid="type-ECHO"][data-paused="false"]').waitFor();
  page.once("dialog", (d) => d.accept());
  await page.click('[data-testid="pause-ECHO"]');
  await page.locator('[data-testid="type-ECHO"][data-paused="true"]').waitFor();
  const pausedStats = await api("GET", "/api/stats");
  check(pausedStats.paused.length === 1 && pausedStats.paused[0].type === "ECHO" && pausedStats.paused[0].note === "paused by dashboard",
        `Pause pauses the type: ${JSON.stringify(pausedStats.paused)}`);
  check((await page.locator('[data-testid="type-paused-ECHO"]').getAttribute("title")).startsWith("paused by dashboard (since "),
        "the chip says who paused it and since when");
  const held = await api("POST", "/api/jobs", { type: "ECHO", payload: { held: true } });
  const resumedAt = Date.now();
  await page.click('[data-testid="resume-ECHO"]');
  await page.locator('[data-testid="type-ECHO"][data-paused="false"]').waitFor();
  const ran = await waitJob(held.id, "COMPLETED");
  check(Date.parse(ran.startedAt) >= resumedAt - 1, `a job created while paused starts after Resume (${ran.startedAt})`);
  check((await api("GET", "/api/stats")).paused.length === 0, "Resume resumes the type");

  // Recurring schedules: listed with their next run; Pause, Run now (opens
  // the job it made) and Resume.
  // February 29th, 03:00: no run comes due while the test runs.
  await api("PUT", "/api/schedules/nightly-report", { cron: "0 3 29 2 *", type: "ECHO", payload: { report: "nightly" }, missed: "catch_up" });
  const schedRow = page.locator('[data-testid="schedule-nightly-report"]');
  await schedRow.waitFor();
  check(/\(in \d+ (d|h)\)/.test(await schedRow.locator('[data-testid="schedule-next"]').innerText()), "a schedule shows its next run");
  check((await schedRow.locator('[data-testid="schedule-last"]').innerText()).trim() === "never", "a new schedule has never run");
  page.once("dialog", (d) => d.accept());
  await page.click('[data-testid="schedule-pause-nightly-report"]');
  await page.locator('[data-testid="schedule-nightly-report"][data-paused="true"]').waitFor();
  check((await api("GET", "/api/schedules/nightly-report")).paused, "Pause pauses the schedule");
  await page.click('[data-testid="schedule-run-nightly-report"]');
  let madeId = null;
  for (const until = Date.now() + 10000; !madeId && Date.now() < until; await new Promise((r) => setTimeout(r, 20)))
    madeId = (await api("GET", "/api/schedules/nightly-report")).lastJobId;
  check(madeId, "Run now creates a job");
  await page.locator('[data-testid="detail-id"]', { hasText: madeId }).waitFor();
  const made = await waitJob(madeId, "COMPLETED");
  check(made.payload.report === "nightly", "Run now creates the schedule's job and opens it");
  await schedRow.locator('[data-testid="schedule-last"] a').waitFor();
  await page.click('[data-testid="schedule-resume-nightly-report"]');
  await page.locator('[data-testid="schedule-nightly-report"][data-paused="false"]').waitFor();
  check(!(await api("GET", "/api/schedules/nightly-report")).paused, "Resume resumes it");
  await api("DELETE", "/api/schedules/nightly-report");

  // Bulk actions on the filter: each confirm names the count that matches
  // and the cap; the API's counts come back in a toast.
  const bulkJobs = [];
  for (let i = 0; i < 3; i++) bulkJobs.push(await api("POST", "/api/jobs", { type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z", payload: { bulk: i } }));
  for (const j of bulkJobs.slice(0, 2)) await api("PATCH", "/api/jobs/" + j.id, { status: "FAILED" });
  await page.selectOption('[data-testid="filter-type"]', "ECHO");
  const echoCount = async (status) => ((await api("GET", "/api/stats")).byType.ECHO || {})[status] || 0;
  const failedNow = await echoCount("FAILED");
  check(failedNow >= 2, `two FAILED ECHO jobs to retry (${failedNow})`);
  await page.waitForFunction((n) => document.querySelector('[data-testid="bulk-retry"]').title.startsWith(`${n} FAILED job(s) of ECHO`), failedNow);
  // Dismissed: nothing happens.
  let asked = "";
  page.once("dialog", (d) => { asked = d.message(); d.dismiss(); });
  await page.click('[data-testid="bulk-retry"]');
  await page.waitForFunction(() => true);
  check(asked === `Retry all ${failedNow} FAILED ECHO jobs? They run again from the start.`, `the confirm names the count: ${asked}`);
  check((await api("GET", "/api/jobs/" + bulkJobs[0].id)).status === "FAILED", "a dismissed confirm changes nothing");
  page.once("dialog", (d) => d.accept());
  await page.click('[data-testid="bulk-retry"]');
  await page.locator('#toast', { hasText: `Retried ${failedNow} of ${failedNow}` }).waitFor();
  await waitJob(bulkJobs[0].id, "COMPLETED");
  await waitJob(bulkJobs[1].id, "COMPLETED");
  check(true, "Retry failed retries every FAILED job of the type, and they run");
  // Cancel waiting: the PENDING ECHO jobs (the third one, due in 2099).
  const pendingNow = await echoCount("PENDING");
  await page.waitForFunction((n) => document.querySelector('[data-testid="bulk-cancel"]').title.startsWith(`${n} PENDING job(s) of ECHO`), pendingNow);
  page.once("dialog", (d) => { asked = d.message(); d.accept(); });
  await page.click('[data-testid="bulk-cancel"]');
  await page.locator(`tr[data-id="${bulkJobs[2].id}"][data-status="CANCELLED"]`).waitFor();
  check(asked.startsWith(`Cancel all ${pendingNow} PENDING ECHO job`), `the cancel confirm names the count: ${asked}`);
  const cancelledJob = await api("GET", "/api/jobs/" + bulkJobs[2].id);
  check(cancelledJob.status === "CANCELLED" && cancelledJob.error === "cancelled by dashboard", "Cancel waiting cancels with who");
  // Delete finished, with the status filter: only the CANCELLED ones.
  await page.selectOption('[data-testid="filter-status"]', "CANCELLED");
  const cancelledNow = await echoCount("CANCELLED");
  await page.waitForFunction((n) => document.querySelector('[data-testid="bulk-delete"]').title.startsWith(`${n} CANCELLED job(s) of ECHO`), cancelledNow);
  check(await page.locator('[data-testid="bulk-retry"]').isDisabled(), "Retry failed is off while the filter shows CANCELLED jobs");
  page.once("dialog", (d) => { asked = d.message(); d.accept("1"); });
  await page.click('[data-testid="bulk-delete"]');
  await page.locator('#toast', { hasText: `Deleted 0 of 0` }).waitFor();
  check(asked.startsWith(`Delete ${cancelledNow} CANCELLED ECHO job`), `the delete prompt names the count: ${asked}`);
  check((await api("GET", "/api/jobs/" + bulkJobs[2].id)).status === "CANCELLED", "nothing finished over a day ago: nothing deleted");
  page.once("dialog", (d) => d.accept("0"));
  await page.click('[data-testid="bulk-delete"]');
  await row(bulkJobs[2].id).waitFor({ state: "detached" });
  await page.locator('#toast', { hasText: `Deleted ${cancelledNow} of ${cancelledNow}` }).waitFor();
  const gone = await fetch(base + "/api/jobs/" + bulkJobs[2].id);
  check(gone.status === 404 && (await echoCount("CANCELLED")) === 0, "Delete finished… 0 deletes every CANCELLED ECHO job");
  check((await api("GET", "/api/jobs/" + done.id)).status === "COMPLETED", "a COMPLETED job outside the filter stays");
  await page.selectOption('[data-testid="filter-status"]', "");
  await page.selectOption('[data-testid="filter-type"]', "");

  // Delete.
  page.once("dialog", (d) => d.accept());
  await row(done.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: done.id }).waitFor();
  await page.click('[data-testid="delete"]');
  await row(done.id).waitFor({ state: "detached" });
  check(true, "Delete removes the job from the list");

  // Keyboard: the list is one tab stop; Down/Up move through the rows and
  // open each job, Home goes to the first.
  await row(fresh.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: fresh.id }).waitFor();
  const order = await page.$$eval('tr[data-testid="job-row"]', (rs) => rs.map((r) => r.dataset.id));
  const at = order.indexOf(fresh.id);
  check(at >= 0 && order.length >= 2, "the list has rows to move through");
  const below = order[Math.min(at + 1, order.length - 1)];
  await page.keyboard.press("ArrowDown");
  await page.locator('[data-testid="detail-id"]', { hasText: below }).waitFor();
  check(await page.evaluate((id) => document.activeElement?.dataset?.id === id, below),
        "Down moves the focus to the next row and opens it");
  await page.keyboard.press("Home");
  await page.locator('[data-testid="detail-id"]', { hasText: order[0] }).waitFor();
  check(await page.evaluate(() => document.querySelectorAll('tr[data-testid="job-row"][tabindex="0"]').length === 1),
        "Home opens the first job; one row is the tab stop");

  // Phone and desktop widths: nothing wider than the window; at 420 px the
  // table scrolls inside its panel.
  for (const width of [420, 1400]) {
    await page.setViewportSize({ width, height: 900 });
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      window: window.innerWidth,
    }));
    if (widths.page > widths.window)
      console.error("too wide:", JSON.stringify(await page.evaluate(() => [...document.querySelectorAll("body *")]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 12).map((e) => e.tagName + "." + e.className + "#" + e.id + " " + Math.round(e.getBoundingClientRect().right)))));
    check(widths.page <= widths.window, `at ${width} px the page fits (${widths.page} <= ${widths.window})`);
    check(await row(fresh.id).isVisible(), `at ${width} px the job list shows`);
  }
  await page.setViewportSize({ width: 1440, height: 900 });

  // External workers: the panel is hidden until one calls; then its row
  // shows its host, types, state and the job it holds (which opens), and
  // the job leaves its hand once completed.
  check(await page.locator('[data-testid="workers"]').isHidden(), "the workers panel is hidden while no external worker has called");
  const sms = await api("POST", "/api/jobs", { type: "SEND_SMS", payload: { to: "+1555" } });
  const fetched = await api("POST", "/api/worker/fetch", { worker: "sms-dash-1", types: ["SEND_SMS"], host: "box-a.example" });
  check(fetched.jobs.length === 1 && fetched.jobs[0].id === sms.id, "an external worker fetched the SEND_SMS job");
  const workerRow = page.locator('tr[data-testid="worker-row"][data-id="sms-dash-1"]');
  await workerRow.waitFor({ timeout: 12000 });
  const cells = {
    host: await workerRow.locator('[data-testid="worker-host"]').textContent(),
    types: await workerRow.locator('[data-testid="worker-types"]').textContent(),
    state: await workerRow.locator('[data-testid="worker-state"]').textContent(),
    seen: await workerRow.locator('[data-testid="worker-seen"]').textContent(),
  };
  check(cells.host === "box-a.example" && cells.types === "SEND_SMS" && cells.state === "online" && /ago$/.test(cells.seen),
        `the worker's row shows its host, types, state and last sighting: ${JSON.stringify(cells)}`);
  check((await page.locator('[data-testid="workers-count"]').textContent()) === "1 online, 0 offline", "the panel counts the workers online");
  await workerRow.locator('[data-testid="worker-job"]').click();
  await page.locator('[data-testid="detail-id"]', { hasText: sms.id }).waitFor();
  check(true, "a job in the worker's hand opens its detail");
  await api("POST", "/api/worker/complete", { worker: "sms-dash-1", id: sms.id, attempt: 1, result: { sid: "SM1" } });
  await page.locator('tr[data-testid="worker-row"][data-id="sms-dash-1"] [data-testid="worker-jobs"][data-count="0"]').waitFor({ timeout: 12000 });
  check(true, "a completed job leaves the worker's hand");

  // Dark mode follows the system setting.
  await page.emulateMedia({ colorScheme: "dark" });
  const darkBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  await page.emulateMedia({ colorScheme: "light" });
  const lightBg = await page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
  const lum = (rgb) => rgb.match(/\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0);
  check(lum(darkBg) < 150 && lum(lightBg) > 600, `dark mode follows the system (${darkBg} / ${lightBg})`);

  // The picture: a job with a result selected.
  await row(fresh.id).click();
  await page.locator('[data-testid="detail-id"]', { hasText: fresh.id }).waitFor();
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: false });
  console.log("screenshot: " + screenshot);
  check(errors.length === 0, "no console errors" + (errors.length ? ": " + errors.join("; ") : ""));
  await page.close();
} catch (err) {
  failed = true;
  console.error("FAILED: " + (err && err.stack ? err.stack : err));
} finally {
  await browser.close().catch(() => {});
}
process.exit(failed ? 1 : 0);
