// jobd client: a dependency-free ES module for browsers and Node 18+.
// The package jobd-client (http/client, with its types in index.d.ts); jobd
// serves the same bytes at /jobs-client.js (and the types at
// /jobs-client.d.ts), and the dashboard at /jobs uses it too.
//
//   import { configure, createJob, getJob, listJobs, watchJob,
//            setReact, useJob, useJobs } from "jobd-client";
//   // or, without installing: from "http://127.0.0.1:8080/jobs-client.js"
//   configure({ baseUrl: "http://127.0.0.1:8080", token: "..." }); // both optional
//   const job = await createJob({ type: "ECHO", payload: { hi: 1 } });
//   const stop = watchJob(job.id, (j) => console.log(j.status));  // polls until finished
//
// React hooks: give the module your React once (setReact(React)) or per call
// ({ React }); without either it uses globalThis.React. The module never
// imports React itself, so it works without it (the dashboard has none).
//   const { job, error, loading } = useJob(id, { interval: 1000 });
//   const { jobs, nextCursor, error, loading, refresh } = useJobs({ status: "FAILED" });
// useJob stops polling when the job is COMPLETED or FAILED, and both stop
// when the component unmounts.
//
// Errors: API failures reject with JobsApiError { status, code, field, message }
// (the server's {"error":{...}} body).

const config = {
  baseUrl: "",
  token: null,
  fetch: typeof fetch === "function" ? fetch.bind(globalThis) : null,
};

/** Sets baseUrl ("" = same origin), token (bearer) and/or fetch. */
export function configure(options = {}) {
  for (const key of ["baseUrl", "token", "fetch"])
    if (key in options) config[key] = options[key];
  if (config.baseUrl.endsWith("/")) config.baseUrl = config.baseUrl.slice(0, -1);
}

export class JobsApiError extends Error {
  constructor(status, body) {
    const err = (body && body.error) || {};
    super(err.message || `HTTP ${status}`);
    this.name = "JobsApiError";
    this.status = status;
    this.code = err.code || "http_" + status;
    this.field = err.field;
  }
}

/** True when a job will not change any more by itself. */
export function isFinished(job) {
  return !!job && (job.status === "COMPLETED" || job.status === "FAILED" || job.status === "CANCELLED");
}

async function request(method, path, body, { signal } = {}) {
  if (!config.fetch) throw new Error("jobs-client: no fetch available; pass one to configure()");
  const headers = {};
  if (config.token) headers.Authorization = "Bearer " + config.token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await config.fetch(config.baseUrl + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal,
  });
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!res.ok) throw new JobsApiError(res.status, data);
  return data;
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? "?" + s : "";
}

/** Enqueues one job: { type, payload?, priority?, scheduledFor?, maxRetries? }. */
export function createJob(job, opts) {
  return request("POST", "/api/jobs", job, opts);
}

/** Enqueues many jobs in one transaction; resolves to the stored jobs. */
export async function createJobs(jobs, opts) {
  const res = await request("POST", "/api/jobs/batch", { jobs }, opts);
  return res.jobs;
}

export function getJob(id, opts) {
  return request("GET", "/api/jobs/" + encodeURIComponent(id), undefined, opts);
}

/** { status?, type?, limit?, cursor? } -> { jobs, nextCursor } (newest first). */
export function listJobs(filter = {}, opts) {
  const { status, type, limit, cursor, q } = filter;
  return request("GET", "/api/jobs" + query({ status, type, q, limit, cursor }), undefined, opts);
}

export function patchJob(id, patch, opts) {
  return request("PATCH", "/api/jobs/" + encodeURIComponent(id), patch, opts);
}

export function retryJob(id, opts) {
  return request("POST", "/api/jobs/" + encodeURIComponent(id) + "/retry", undefined, opts);
}

/**
 * A job's attempts, oldest first (the newest 100): { jobId, attempts:
 * [{ attempt, worker, startedAt, endedAt, outcome, error }], truncated }.
 * outcome: running, completed, failed, lease_expired, released, cancelled.
 */
export function getJobAttempts(id, opts) {
  return request("GET", "/api/jobs/" + encodeURIComponent(id) + "/attempts", undefined, opts);
}

export function cancelJob(id, { reason, by } = {}, opts) {
  const body = {};
  if (reason !== undefined) body.reason = reason;
  if (by !== undefined) body.by = by;
  return request("POST", "/api/jobs/" + encodeURIComponent(id) + "/cancel", body, opts);
}

/**
 * Retries, cancels or deletes every job matching a filter (POST
 * /api/jobs/bulk): { action: "retry" | "cancel" | "delete", status?, type?,
 * finishedBefore? (delete; a Date or ISO text), max? (default 1000, up to
 * 10000), reason?, by? (cancel) }. Resolves to { action, matched, changed,
 * skipped, more }; more: call again for the rest.
 */
export function bulkJobs(bulk, opts) {
  const body = {};
  for (const [k, v] of Object.entries(bulk || {}))
    if (v !== undefined) body[k] = v instanceof Date ? v.toISOString() : v;
  return request("POST", "/api/jobs/bulk", body, opts);
}

export function deleteJob(id, opts) {
  return request("DELETE", "/api/jobs/" + encodeURIComponent(id), undefined, opts);
}

export function getStats(opts) {
  return request("GET", "/api/stats", undefined, opts);
}

export function pauseType(type, { reason, by } = {}, opts) {
  const body = {};
  if (reason !== undefined) body.reason = reason;
  if (by !== undefined) body.by = by;
  return request("POST", "/api/types/" + encodeURIComponent(type) + "/pause", body, opts);
}

export function resumeType(type, opts) {
  return request("POST", "/api/types/" + encodeURIComponent(type) + "/resume", undefined, opts);
}

// -- external workers ----------------------------------------------------------

/**
 * The external workers seen in the last day, most recently seen first:
 * { workers: [{ id, host, types, firstSeenAt, lastSeenAt, online, jobs }],
 * asOf, truncated }. online: seen within 30 s or holding a job; jobs: the
 * ids of the jobs it holds now.
 */
export function listWorkers(opts) {
  return request("GET", "/api/workers", undefined, opts);
}

// -- recurring schedules -------------------------------------------------------

const schedulePath = (name) => "/api/schedules/" + encodeURIComponent(name);

/** Every schedule, by name: { schedules: [...] }. */
export function listSchedules(opts) {
  return request("GET", "/api/schedules", undefined, opts);
}

export function getSchedule(name, opts) {
  return request("GET", schedulePath(name), undefined, opts);
}

/**
 * Creates or redefines schedule `name`: { cron, type, payload?, timeZone?,
 * priority?, maxRetries?, missed?, catchUpMs? }.
 */
export function putSchedule(name, definition, opts) {
  return request("PUT", schedulePath(name), definition, opts);
}

/** Resolves to null (204); the jobs its runs created stay. */
export function deleteSchedule(name, opts) {
  return request("DELETE", schedulePath(name), undefined, opts);
}

export function pauseSchedule(name, opts) {
  return request("POST", schedulePath(name) + "/pause", undefined, opts);
}

export function resumeSchedule(name, opts) {
  return request("POST", schedulePath(name) + "/resume", undefined, opts);
}

/** Runs the schedule now; resolves to the job created. */
export function runSchedule(name, opts) {
  return request("POST", schedulePath(name) + "/run", undefined, opts);
}

/**
 * Calls onChange(job) whenever the job's updatedAt changes, polling every
 * `interval` ms, until it is finished or stop() is called. onError(err) gets
 * failures (polling goes on, except after 404). Returns stop().
 */
export function watchJob(id, onChange, { interval = 1000, onError } = {}) {
  let stopped = false;
  let timer = null;
  let last = null;
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const tick = async () => {
    if (stopped) return;
    try {
      const job = await getJob(id, { signal: controller && controller.signal });
      if (stopped) return;
      if (!last || job.updatedAt !== last.updatedAt || job.status !== last.status) {
        last = job;
        onChange(job);
      }
      if (isFinished(job)) return stop();
    } catch (err) {
      if (stopped) return;
      if (onError) onError(err);
      if (err instanceof JobsApiError && err.status === 404) return stop();
    }
    if (!stopped) timer = setTimeout(tick, interval);
  };
  function stop() {
    stopped = true;
    if (timer) clearTimeout(timer);
    if (controller) controller.abort();
  }
  tick();
  return stop;
}

/**
 * Live changes over Server-Sent Events (browsers; needs EventSource).
 * handlers: { onJob(job), onDeleted(id), onReset(), onOpen(), onError(err) }.
 * Every process's changes arrive (workers elsewhere, retention), each job's
 * in the order they were made; onReset() means some were missed (reload).
 * Returns close(), or null when EventSource is not available (then poll).
 */
export function subscribe(handlers = {}) {
  if (typeof EventSource !== "function") return null;
  // EventSource cannot send headers: the token goes in the query string.
  const url = config.baseUrl + "/api/events" + query({ token: config.token });
  const es = new EventSource(url);
  es.addEventListener("job", (e) => handlers.onJob && handlers.onJob(JSON.parse(e.data)));
  es.addEventListener("deleted", (e) => handlers.onDeleted && handlers.onDeleted(JSON.parse(e.data).id));
  es.addEventListener("reset", () => handlers.onReset && handlers.onReset());
  es.onopen = () => handlers.onOpen && handlers.onOpen();
  es.onerror = (err) => handlers.onError && handlers.onError(err);
  return () => es.close();
}

// -- React hooks ---------------------------------------------------------------

let boundReact = null;

/** Gives the hooks a React (once, at start-up). */
export function setReact(React) {
  boundReact = React;
}

function reactOf(opts) {
  const React = (opts && opts.React) || boundReact || globalThis.React;
  if (!React || !React.useState)
    throw new Error("jobs-client: call setReact(React) or pass { React } to the hook");
  return React;
}

/**
 * The job with this id, kept fresh by polling every `interval` ms until it
 * is finished or the component unmounts. id may be null (nothing loaded).
 * Returns { job, progress, error, loading, cancel }: progress is the job's
 * last progress report ({ fraction, message, updatedAt }; null until its
 * handler reports), cancel(request?) cancels the job (resolves to it,
 * CANCELLED, and shows it at once; rejects as cancelJob).
 */
export function useJob(id, opts = {}) {
  const React = reactOf(opts);
  const interval = opts.interval ?? 1000;
  const [state, setState] = React.useState({ job: null, error: null, loading: !!id });
  React.useEffect(() => {
    if (!id) {
      setState({ job: null, error: null, loading: false });
      return undefined;
    }
    setState((s) => ({ ...s, loading: true, error: null }));
    return watchJob(id, (job) => setState({ job, error: null, loading: false }), {
      interval,
      onError: (error) => setState((s) => ({ ...s, error, loading: false })),
    });
  }, [id, interval]);
  const cancel = React.useCallback(
    async (request) => {
      if (!id) throw new Error("jobs-client: useJob has no job to cancel");
      const job = await cancelJob(id, request);
      setState({ job, error: null, loading: false });
      return job;
    },
    [id],
  );
  return { ...state, progress: state.job ? state.job.progress ?? null : null, cancel };
}

// The polling both list hooks share: `fetch()` resolves to the next state
// (and `done: true` to stop polling), reloaded every `interval` ms (0 = once)
// and on refresh(), until the component unmounts; an error keeps the last
// state and polling goes on. `deps` restart it.
function usePolled(React, initial, fetch, interval, deps) {
  const [state, setState] = React.useState(initial);
  const [generation, setGeneration] = React.useState(0);
  React.useEffect(() => {
    let stopped = false;
    let timer = null;
    const load = async () => {
      let finished = false;
      try {
        const { done, ...next } = await fetch();
        if (stopped) return;
        finished = !!done;
        setState({ ...next, error: null, loading: false });
      } catch (error) {
        if (stopped) return;
        setState((s) => ({ ...s, error, loading: false }));
      }
      if (!stopped && !finished && interval > 0) timer = setTimeout(load, interval);
    };
    load();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
    // fetch is captured through `deps`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, interval, generation]);
  const refresh = React.useCallback(() => setGeneration((g) => g + 1), []);
  return { ...state, refresh };
}

/**
 * A page of jobs matching { status?, type?, limit?, cursor? }, reloaded every
 * `interval` ms (default 2000; 0 = load once) until the component unmounts.
 * With { untilFinished: true } polling stops once every listed job is
 * finished. Returns { jobs, nextCursor, error, loading, refresh }.
 */
export function useJobs(filter = {}, opts = {}) {
  const untilFinished = !!opts.untilFinished;
  const key = JSON.stringify([filter.status, filter.type, filter.q, filter.limit, filter.cursor]);
  return usePolled(
    reactOf(opts),
    { jobs: [], nextCursor: null, error: null, loading: true },
    async () => {
      const page = await listJobs(filter);
      return { jobs: page.jobs, nextCursor: page.nextCursor, done: untilFinished && page.jobs.every(isFinished) };
    },
    opts.interval ?? 2000,
    [key, untilFinished],
  );
}

/**
 * React hook: a job's attempts, reloaded every `interval` ms (default 2000;
 * 0 = once) until the job is finished: { attempts, truncated, error,
 * loading, refresh }.
 */
export function useJobAttempts(id, opts = {}) {
  return usePolled(
    reactOf(opts),
    { attempts: [], truncated: false, error: null, loading: !!id },
    async () => {
      if (!id) return { attempts: [], truncated: false, done: true };
      // The job first, then its attempts: when the job is finished, the
      // attempts read after it hold its last one (read together, the
      // attempts could predate the job's end and polling would stop short).
      const job = await getJob(id);
      const history = await getJobAttempts(id);
      return { attempts: history.attempts, truncated: history.truncated, done: isFinished(job) };
    },
    opts.interval ?? 2000,
    [id],
  );
}

/**
 * React hook: the schedules, polled every `interval` ms (default 5000; 0 =
 * once): { schedules, error, loading, refresh }.
 */
export function useSchedules(opts = {}) {
  return usePolled(
    reactOf(opts),
    { schedules: [], error: null, loading: true },
    async () => ({ schedules: (await listSchedules()).schedules }),
    opts.interval ?? 5000,
    [],
  );
}
