// The Node reference client under test (tests/integration/workers_test.cpp):
//   node sms_worker.mjs JOBD_URL TOKEN WORKER_ID
// Runs SEND_SMS jobs; payload.mode says what the handler does.
import { Worker, Permanent, Retry } from "../../../http/workers/jobd-worker.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function sendSms(payload, job) {
  const mode = payload.mode || "ok";
  if (mode === "flaky" && job.attempt === 1) throw new Retry("carrier busy", 50);
  if (mode === "bad") throw new Permanent("invalid number " + payload.to);
  if (mode === "hang-first" && job.attempt === 1) await sleep(600_000); // killed meanwhile
  if (mode === "slow") await sleep((payload.seconds || 1.5) * 1000);
  if (mode === "until-cancelled") {
    while (!job.signal.aborted) await sleep(50);
    return null;
  }
  return { sent: payload.to, by: "node", attempt: job.attempt };
}

const [url, token, workerId] = process.argv.slice(2);
console.log("worker ready");
await new Worker(url, { token, workerId, concurrency: 4, waitMs: 2000, leaseMs: 3000 }).run({ SEND_SMS: sendSms });
console.log("worker stopped");
