// A jobd worker in Node 18+ (no dependencies): runs the jobs of types
// declared `handler = external` through jobd's worker protocol
// (POST /api/worker/fetch, heartbeat, complete, fail; README "Workers in any
// language").
//
//   import { Worker, Permanent, Retry } from "./jobd-worker.mjs";
//   const w = new Worker("http://127.0.0.1:8080", { token: "..." });
//   await w.run({
//     SEND_SMS: async (payload, job) => {
//       if (!payload.to.startsWith("+")) throw new Permanent("not a phone number"); // FAILED at once
//       if (job.signal.aborted) return;      // lost at a heartbeat (cancelled, lease taken)
//       return { sid: "SM1" };               // the result; any other throw is retried
//     },
//   });
//
// run() fetches with a long poll, runs up to `concurrency` jobs at once,
// renews their leases every lease/3 and reports each outcome. A job lost at
// a heartbeat has job.signal aborted and its outcome is not sent. stop(),
// SIGTERM or SIGINT ends fetching; run() resolves once the running jobs are
// reported.
import os from "node:os";

/** The job cannot succeed: it fails at once, without retries. */
export class Permanent extends Error {}

/** Retry the job, no sooner than retryAfterMs. */
export class Retry extends Error {
  constructor(message, retryAfterMs = 0) {
    super(message);
    this.retryAfterMs = retryAfterMs;
  }
}

export class Worker {
  constructor(url, { token, workerId, concurrency = 1, waitMs = 5000, leaseMs = 30000 } = {}) {
    this.url = url.replace(/\/$/, "");
    this.token = token;
    this.id = workerId || `${os.hostname()}:${process.pid}`;
    Object.assign(this, { concurrency, waitMs, leaseMs });
    this.running = new Map(); // job id -> { job, controller, done }
    this.stopping = false;
  }

  async call(op, body) {
    const headers = { "Content-Type": "application/json" };
    if (this.token) headers.Authorization = "Bearer " + this.token;
    const res = await fetch(`${this.url}/api/worker/${op}`, { method: "POST", headers, body: JSON.stringify(body) });
    if (res.status === 409) return null; // the attempt is no longer ours: drop it
    if (!res.ok) throw new Error(`${op}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  }

  stop() {
    this.stopping = true;
  }

  async run(handlers) {
    const onSignal = () => this.stop();
    process.once("SIGTERM", onSignal);
    process.once("SIGINT", onSignal);
    const beat = setInterval(() => this.heartbeat().catch(() => {}), this.leaseMs / 3);
    try {
      while (!this.stopping) {
        const free = this.concurrency - this.running.size;
        if (free <= 0) {
          await Promise.race([...this.running.values()].map((r) => r.done));
          continue;
        }
        let jobs;
        try {
          ({ jobs } = await this.call("fetch", { worker: this.id, types: Object.keys(handlers), max: free, waitMs: this.waitMs, leaseMs: this.leaseMs, host: os.hostname().slice(0, 255) || "?" }));
        } catch (e) {
          console.error(`jobd worker ${this.id}: fetch failed (${e.message}); retrying in 1 s`);
          await new Promise((r) => setTimeout(r, 1000)); // jobd restarting, or a bad request: try again
          continue;
        }
        for (const job of jobs) this.start(handlers[job.type], job); // fetched jobs are ours: run them
      }
      await Promise.all([...this.running.values()].map((r) => r.done));
    } finally {
      clearInterval(beat);
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    }
  }

  start(handler, job) {
    const controller = new AbortController();
    job.signal = controller.signal;
    const ref = { worker: this.id, id: job.id, attempt: job.attempt };
    const done = (async () => {
      try {
        let outcome;
        try {
          const result = await handler(job.payload, job);
          outcome = ["complete", { ...ref, result: result === undefined ? null : result }];
        } catch (e) {
          outcome = ["fail", { ...ref, error: String((e && e.message) || e || "failed"), retryable: !(e instanceof Permanent), retryAfterMs: (e && e.retryAfterMs) || 0 }];
        }
        if (!controller.signal.aborted) await this.call(...outcome);
      } catch {
        // Unreported: the lease runs out and jobd runs the job again.
      } finally {
        this.running.delete(job.id);
      }
    })();
    this.running.set(job.id, { job, controller, done });
  }

  async heartbeat() {
    const held = [...this.running.values()].map(({ job }) => ({ id: job.id, attempt: job.attempt }));
    if (held.length === 0) return;
    const { lost } = await this.call("heartbeat", { worker: this.id, jobs: held, leaseMs: this.leaseMs });
    for (const id of lost) this.running.get(id)?.controller.abort();
  }
}
