// The React hooks of /jobs-client.js against a live jobd (JOBD_URL), with
// React and react-test-renderer from npm. Run by test_http (node_test.cpp):
//   JOBD_URL=http://127.0.0.1:PORT node --test hooks.test.mjs
import { test, before } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import React from "react";
import TestRenderer, { act } from "react-test-renderer";

const base = process.env.JOBD_URL;
if (!base) throw new Error("set JOBD_URL to a running jobd, e.g. http://127.0.0.1:8080");

// Polling updates arrive outside act(): tell React that is expected.
globalThis.IS_REACT_ACT_ENVIRONMENT = false;

let client;
let fetches = 0;

// Waits for a condition, up to a deadline (no fixed sleeps).
async function waitFor(pred, what, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail("timed out waiting for " + what);
}

// Counts requests that happen within `ms` (to show polling has stopped).
async function requestsDuring(ms) {
  const start = fetches;
  await new Promise((r) => setTimeout(r, ms));
  return fetches - start;
}

before(async () => {
  // Test the module exactly as the server serves it.
  const res = await fetch(base + "/jobs-client.js");
  assert.equal(res.status, 200);
  const dir = mkdtempSync(join(tmpdir(), "jobs-client-"));
  const file = join(dir, "jobs-client.mjs");
  writeFileSync(file, await res.text());
  client = await import(pathToFileURL(file).href);
  client.configure({
    baseUrl: base,
    fetch: (...args) => {
      fetches++;
      return fetch(...args);
    },
  });
  client.setReact(React);
});

function render(element) {
  let renderer;
  act(() => {
    renderer = TestRenderer.create(element);
  });
  return renderer;
}

test("createJob, getJob and listJobs talk to the API", async () => {
  const job = await client.createJob({ type: "ECHO", payload: { n: 1 }, priority: 4 });
  assert.match(job.id, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(job.priority, 4);
  const again = await client.getJob(job.id);
  assert.equal(again.id, job.id);
  const page = await client.listJobs({ type: "ECHO", limit: 500 });
  assert.ok(page.jobs.some((j) => j.id === job.id));
  assert.ok("nextCursor" in page);
});

test("API errors reject with the field named", async () => {
  await assert.rejects(client.createJob({ type: "NOPE" }), (err) => {
    assert.equal(err.name, "JobsApiError");
    assert.equal(err.status, 400);
    assert.equal(err.field, "type");
    return true;
  });
  await assert.rejects(client.getJob("01ARZ3NDEKTSV4RRFFQ69G5FAV"), (err) => err.status === 404);
});

test("watchJob reports changes until the job is finished", async () => {
  const job = await client.createJob({ type: "ECHO", payload: { delayMs: 100 } });
  const statuses = [];
  await new Promise((resolve) => {
    client.watchJob(job.id, (j) => {
      statuses.push(j.status);
      if (client.isFinished(j)) resolve();
    }, { interval: 20 });
  });
  assert.equal(statuses.at(-1), "COMPLETED");
  assert.equal(await requestsDuring(150), 0, "watchJob polls after the job finished");
});

test("useJob follows a job to COMPLETED, then stops polling", async () => {
  const job = await client.createJob({ type: "ECHO", payload: { delayMs: 150, hello: "hooks" } });
  const seen = [];
  function Probe() {
    const { job: j, loading, error } = client.useJob(job.id, { interval: 25 });
    seen.push({ status: j && j.status, loading, error });
    return j ? j.status : "loading";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() === "COMPLETED", "useJob to show COMPLETED");
  assert.equal(seen[0].loading, true);
  assert.ok(seen.every((s) => !s.error));
  assert.equal(await requestsDuring(150), 0, "useJob polls after the job finished");
  act(() => r.unmount());
});

test("useJob stops polling when the component unmounts", async () => {
  // Scheduled far ahead: it never finishes during the test.
  const job = await client.createJob({ type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z" });
  function Probe() {
    const { job: j } = client.useJob(job.id, { interval: 20 });
    return j ? j.status : "loading";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() === "PENDING", "useJob to load the job");
  assert.ok((await requestsDuring(100)) > 0, "useJob should poll an unfinished job");
  act(() => r.unmount());
  await requestsDuring(30); // a request in flight may still complete
  assert.equal(await requestsDuring(150), 0, "useJob polls after unmount");
});

test("createJob with a taken uniqueKey resolves to the existing job, duplicate: true", async () => {
  const key = `hooks-${process.pid}-${Date.now()}`;
  const first = await client.createJob({ type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z", uniqueKey: key });
  assert.equal(first.duplicate, false);
  const again = await client.createJob({ type: "ECHO", uniqueKey: key });
  assert.equal(again.duplicate, true);
  assert.equal(again.id, first.id);
  const [a, b] = await client.createJobs([{ type: "ECHO", uniqueKey: key }, { type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z" }]);
  assert.equal(a.id, first.id);
  assert.equal(a.duplicate, true);
  assert.equal(b.duplicate, false);
  await assert.rejects(client.createJob({ type: "ECHO", uniqueKey: key, uniqueStates: ["PENDING"] }), (err) => err.status === 400 && err.field === "uniqueStates");
});

test("useJob's cancel stops a running job and shows it CANCELLED; polling stops", async () => {
  const job = await client.createJob({ type: "ECHO", payload: { delayMs: 60000 } });
  let cancel;
  function Probe() {
    const s = client.useJob(job.id, { interval: 20 });
    cancel = s.cancel;
    return s.job ? `${s.job.status} ${s.job.error ?? ""}` : "loading";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => String(r.toJSON()).startsWith("PROCESSING"), "the job to run");
  const cancelled = await cancel({ reason: "user pressed stop", by: "hooks test" });
  assert.equal(cancelled.status, "CANCELLED");
  await waitFor(() => r.toJSON() === "CANCELLED cancelled by hooks test: user pressed stop", "useJob to show CANCELLED");
  assert.equal(client.isFinished(cancelled), true);
  await requestsDuring(60); // the poll already scheduled sees CANCELLED and stops
  assert.equal(await requestsDuring(150), 0, "useJob polls after the job was cancelled");
  // Cancelling again: the job is finished, 409.
  await assert.rejects(cancel(), (err) => err.status === 409 && err.code === "conflict");
  act(() => r.unmount());
});

test("useJob reports a running job's progress as it changes, and keeps the last", async () => {
  // ECHO reports the time it waited; the server stores it every 100 ms.
  const job = await client.createJob({ type: "ECHO", payload: { delayMs: 1500 } });
  const seen = [];
  function Probe() {
    const { job: j, progress } = client.useJob(job.id, { interval: 20 });
    if (progress) seen.push(progress);
    assert.equal(progress, j ? j.progress : null);
    return j ? `${j.status} ${progress ? progress.message : "-"}` : "loading";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => /^PROCESSING waited \d+ of 1500 ms$/.test(String(r.toJSON())), "progress while it runs");
  await waitFor(() => String(r.toJSON()).startsWith("COMPLETED"), "the job to finish", 10000);
  const fractions = [...new Set(seen.map((p) => p.fraction))];
  assert.ok(fractions.length >= 2, `progress should move: ${JSON.stringify(fractions)}`);
  assert.ok(fractions.every((f, i) => f >= 0 && f <= 1 && (i === 0 || f >= fractions[i - 1])), `fractions grow: ${fractions}`);
  assert.match(String(r.toJSON()), /^COMPLETED waited \d+ of 1500 ms$/);
  act(() => r.unmount());
});

test("createJob with timeoutMs: the job fails once an attempt runs past it", async () => {
  const job = await client.createJob({ type: "ECHO", payload: { delayMs: 60000 }, timeoutMs: 150, maxRetries: 0 });
  assert.equal(job.timeoutMs, 150);
  function Probe() {
    const { job: j } = client.useJob(job.id, { interval: 20 });
    return j ? `${j.status} ${j.error ?? ""}` : "loading";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() === "FAILED timed out after 150 ms (timeoutMs)", "the job to time out");
  act(() => r.unmount());
  await assert.rejects(client.createJob({ type: "ECHO", timeoutMs: 0 }), (err) => err.status === 400 && err.field === "timeoutMs");
});

test("pauseType holds a type's new jobs until resumeType; useJob then sees them run", async () => {
  const paused = await client.pauseType("ECHO", { reason: "hooks test", by: "node" });
  assert.equal(paused.type, "ECHO");
  assert.equal(paused.note, "paused by node: hooks test");
  assert.deepEqual((await client.getStats()).paused.map((p) => p.type), ["ECHO"]);
  const job = await client.createJob({ type: "ECHO" });
  assert.equal(job.status, "PENDING");
  function Probe() {
    const { job: j } = client.useJob(job.id, { interval: 20 });
    return j ? j.status : "loading";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() === "PENDING", "the job to show PENDING");
  const resumedAt = Date.now();
  const resumed = await client.resumeType("ECHO");
  assert.deepEqual(resumed, { type: "ECHO", paused: false, wasPaused: true });
  await waitFor(() => r.toJSON() === "COMPLETED", "the job to run once resumed");
  act(() => r.unmount());
  // It started only after the resume.
  const done = await client.getJob(job.id);
  assert.ok(Date.parse(done.startedAt) >= resumedAt - 1, `${done.startedAt} vs resume at ${new Date(resumedAt).toISOString()}`);
  assert.deepEqual((await client.getStats()).paused, []);
  await assert.rejects(client.pauseType("NO_SUCH_TYPE"), (err) => err.status === 404);
  await assert.rejects(client.pauseType("ECHO", { reason: "r".repeat(501) }), (err) => err.status === 400 && err.field === "reason");
});

test("bulkJobs cancels by filter and useJobs shows the jobs CANCELLED; a bad field names it", async () => {
  const type = "ECHO";
  const later = "2099-01-01T00:00:00Z";
  const waiting = await client.createJobs([{ type, scheduledFor: later }, { type, scheduledFor: later }]);
  function Probe() {
    const { jobs, loading } = client.useJobs({ status: "CANCELLED", type, limit: 500 }, { interval: 20 });
    return loading ? "loading" : jobs.map((j) => j.id).join(",");
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() !== "loading", "useJobs to load");
  assert.ok(!waiting.some((j) => String(r.toJSON()).includes(j.id)));
  const res = await client.bulkJobs({ action: "cancel", type, status: "PENDING", reason: "hooks test", by: "node" });
  assert.equal(res.action, "cancel");
  // Every waiting ECHO job (other tests may have left some): at least ours.
  assert.ok(res.changed >= 2, JSON.stringify(res));
  assert.equal(res.matched, res.changed + res.skipped);
  assert.equal(res.more, false);
  await waitFor(() => waiting.every((j) => String(r.toJSON()).includes(j.id)), "useJobs to list both jobs CANCELLED");
  act(() => r.unmount());
  assert.equal((await client.getJob(waiting[0].id)).error, "cancelled by node: hooks test");
  // Deleting them by filter, up to a time (a Date is sent as ISO text).
  const gone = await client.bulkJobs({ action: "delete", status: "CANCELLED", finishedBefore: new Date(Date.now() + 60000) });
  assert.ok(gone.changed >= 2, JSON.stringify(gone));
  await assert.rejects(client.getJob(waiting[1].id), (err) => err.status === 404);
  await assert.rejects(client.bulkJobs({ action: "retry", status: "PENDING" }), (err) => err.status === 400 && err.field === "status");
  await assert.rejects(client.bulkJobs({ action: "delete", max: 0 }), (err) => err.status === 400 && err.field === "max");
});

test("putSchedule, useSchedules, runSchedule, pause/resume and deleteSchedule", async () => {
  function Probe() {
    const { schedules, loading } = client.useSchedules({ interval: 20 });
    return loading ? "loading" : schedules.map((s) => `${s.name}:${s.paused}`).join(",");
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() === null || r.toJSON() === "", "useSchedules to load (none yet)");
  const made = await client.putSchedule("hooks-nightly", { cron: "0 3 29 2 *", type: "ECHO", payload: { from: "hooks" } });
  assert.equal(made.name, "hooks-nightly");
  assert.equal(made.source, "api");
  await waitFor(() => r.toJSON() === "hooks-nightly:false", "useSchedules to list it");
  const paused = await client.pauseSchedule("hooks-nightly");
  assert.equal(paused.nextRunAt, null);
  await waitFor(() => r.toJSON() === "hooks-nightly:true", "useSchedules to show it paused");
  const job = await client.runSchedule("hooks-nightly");
  assert.equal(job.type, "ECHO");
  assert.deepEqual(job.payload, { from: "hooks" });
  assert.equal((await client.getSchedule("hooks-nightly")).lastJobId, job.id);
  assert.equal((await client.resumeSchedule("hooks-nightly")).paused, false);
  assert.equal(await client.deleteSchedule("hooks-nightly"), null);
  await waitFor(() => r.toJSON() === null || r.toJSON() === "", "useSchedules to drop it");
  act(() => r.unmount());
  assert.deepEqual((await client.listSchedules()).schedules, []);
  await assert.rejects(client.putSchedule("x", { cron: "61 * * * *", type: "ECHO" }), (err) => err.status === 400 && err.field === "cron");
  await assert.rejects(client.runSchedule("nope"), (err) => err.status === 404);
});

test("getJobAttempts and useJobAttempts: each run with its outcome; polling stops once the job is finished", async () => {
  const job = await client.createJob({ type: "ECHO", maxRetries: 1, payload: { fail: true, error: "flaky upstream" } });
  function Probe() {
    const { attempts, loading } = client.useJobAttempts(job.id, { interval: 20 });
    return loading ? "loading" : attempts.map((a) => `${a.attempt}:${a.outcome}:${a.error}`).join(",");
  }
  const r = render(React.createElement(Probe));
  // Fails, is retried after its backoff (1 s), fails for good: two attempts.
  await waitFor(
    () => r.toJSON() === "1:failed:flaky upstream,2:failed:flaky upstream",
    "useJobAttempts to show both failed attempts",
  );
  const history = await client.getJobAttempts(job.id);
  assert.equal(history.jobId, job.id);
  assert.equal(history.truncated, false);
  assert.equal(history.attempts.length, 2);
  for (const a of history.attempts) {
    assert.equal(typeof a.worker, "string");
    assert.ok(Date.parse(a.startedAt) <= Date.parse(a.endedAt));
  }
  assert.equal((await client.getJob(job.id)).status, "FAILED");
  // The job is finished: the hook polls no more.
  assert.equal(await requestsDuring(200), 0);
  act(() => r.unmount());
  await assert.rejects(client.getJobAttempts("01ARZ3NDEKTSV4RRFFQ69G5FAV"), (err) => err.status === 404 && err.code === "not_found");
});

test("useJob's progress is null for a job that never reported", async () => {
  const job = await client.createJob({ type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z" });
  function Probe() {
    const { job: j, progress } = client.useJob(job.id, { interval: 20 });
    return j ? `${j.status} ${JSON.stringify(progress)}` : "loading";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() === "PENDING null", "useJob to load the job");
  act(() => r.unmount());
});

test("useJobs lists and refreshes jobs matching a filter", async () => {
  const type = "ECHO";
  function Probe() {
    const { jobs, loading } = client.useJobs({ status: "COMPLETED", type, limit: 500 }, { interval: 30 });
    return loading ? "loading" : jobs.map((j) => j.id).join(",");
  }
  const r = render(React.createElement(Probe));
  const created = await client.createJobs([{ type }, { type, payload: { x: 2 } }]);
  assert.equal(created.length, 2);
  await waitFor(
    () => created.every((j) => String(r.toJSON()).includes(j.id)),
    "useJobs to list both jobs once COMPLETED",
  );
  act(() => r.unmount());
  await requestsDuring(40);
  assert.equal(await requestsDuring(150), 0, "useJobs polls after unmount");
});

test("useJobs({ q }) lists the jobs a search finds, and follows a new search", async () => {
  const mark = "needle-" + Date.now();
  const hit = await client.createJob({ type: "ECHO", payload: { note: mark }, scheduledFor: "2099-01-01T00:00:00Z" });
  await client.createJob({ type: "ECHO", payload: { note: "hay" }, scheduledFor: "2099-01-01T00:00:00Z" });
  function Probe({ q }) {
    const { jobs } = client.useJobs({ q }, { interval: 50 });
    return jobs ? jobs.map((j) => j.id).join(",") : "loading";
  }
  const r = render(React.createElement(Probe, { q: mark }));
  await waitFor(() => r.toJSON() === hit.id, "the search to list the one job");
  act(() => r.update(React.createElement(Probe, { q: hit.id.slice(0, 20).toLowerCase() })));
  await waitFor(() => r.toJSON() === hit.id, "an id prefix to list it too");
  act(() => r.unmount());
  assert.deepEqual((await client.listJobs({ q: mark })).jobs.map((j) => j.id), [hit.id]);
  await assert.rejects(client.listJobs({ q: "x".repeat(201) }), (err) => err.status === 400 && err.field === "q");
});

test("useJobs with untilFinished stops once every job is finished", async () => {
  const [a] = await client.createJobs([{ type: "ECHO", payload: { delayMs: 50 } }]);
  function Probe() {
    const { jobs } = client.useJobs({ type: "ECHO", limit: 1 }, { interval: 20, untilFinished: true });
    return jobs.length ? jobs[0].id + ":" + jobs[0].status : "none";
  }
  const r = render(React.createElement(Probe));
  await waitFor(() => r.toJSON() === a.id + ":COMPLETED", "the newest job to complete");
  await requestsDuring(40);
  assert.equal(await requestsDuring(150), 0, "useJobs polls after all finished");
  act(() => r.unmount());
});

test("the hooks explain a missing React", () => {
  client.setReact(null);
  const saved = globalThis.React;
  delete globalThis.React;
  try {
    assert.throws(() => client.useJob("x"), /setReact/);
  } finally {
    client.setReact(React);
    if (saved) globalThis.React = saved;
  }
});
