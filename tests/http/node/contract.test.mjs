// The server does exactly what http/openapi.yaml says. Against a live
// `jobd serve` (started by contract_test.cpp), every operation of the spec
// is driven to every status it lists, and each real response is checked
// against the spec: the status is listed, the Content-Type is one of the
// listed media types, required headers are there and every listed header
// matches its schema, and the body validates (Ajv over the dereferenced
// spec). Routes the server has and the spec lacks fail, and the reverse.
//
// Requests go over raw sockets (one connection each, Connection: close), so
// the test controls every byte (two Host headers, a 17 KiB header, a
// Content-Length with no body) and no connection pool hides a connection.
//
// Environment (set by contract_test.cpp):
//   JOBD_URL         the server under test: API token JOBD_TOKEN,
//                    http.body_limit JOBD_BODY_LIMIT, http.batch_body_limit
//                    JOBD_BATCH_BODY_LIMIT, http.max_connections JOBD_MAX_CONNECTIONS
//   JOBD_BARE_URL    a second server with http.dashboard = false, no token
//   JOBD_ROUTES      a JSON file: the server's route table [{method, path, needsAuth}]
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const here = dirname(fileURLToPath(import.meta.url));
const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`set ${name} (see the comment at the top of this file)`);
  return v;
};
const main = new URL(env("JOBD_URL"));
const bare = new URL(env("JOBD_BARE_URL"));
const token = env("JOBD_TOKEN");
const bodyLimit = Number(env("JOBD_BODY_LIMIT"));
const batchBodyLimit = Number(env("JOBD_BATCH_BODY_LIMIT"));
const maxConnections = Number(env("JOBD_MAX_CONNECTIONS"));
const routeTable = JSON.parse(readFileSync(env("JOBD_ROUTES"), "utf8"));

const specPath = join(here, "../../../http/openapi.yaml");
const spec = await SwaggerParser.dereference(specPath);
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

// Every operation: { id, method ("GET"), path ("/api/jobs/{id}"), op }.
const operations = [];
for (const [path, item] of Object.entries(spec.paths))
  for (const m of methods)
    if (item[m]) operations.push({ id: item[m].operationId, method: m.toUpperCase(), path, op: item[m] });
const byId = Object.fromEntries(operations.map((o) => [o.id, o]));
const isPublic = (o) => Array.isArray(o.op.security) && o.op.security.length === 0;
const takesBody = (o) => !!o.op.requestBody;
const anyPath = spec["x-any-path-responses"];

// -- schemas ------------------------------------------------------------------

const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
addFormats(ajv);
// OpenAPI's own formats and keywords.
ajv.addFormat("int32", { type: "number", validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
ajv.addKeyword("example");
const compiled = new Map();
function validator(schema) {
  if (!compiled.has(schema)) compiled.set(schema, ajv.compile(schema));
  return compiled.get(schema);
}
function errorsOf(schema, value) {
  const v = validator(schema);
  return v(value) ? null : ajv.errorsText(v.errors);
}

// -- raw HTTP -----------------------------------------------------------------

// One request on its own connection; resolves to { status, headers (lower
// case), body (string) }. `head`: the response has no body. `stream`: stop
// after the header and the first body bytes (an event stream).
function raw(base, text, { head = false, stream = false, keep = false } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(base.port), base.hostname);
    let data = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => finish(new Error("no complete response within 10 s:\n" + data)), 10000);
    function finish(err, res) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!keep || err) socket.destroy();
      if (err) reject(err);
      else resolve(keep ? { ...res, socket } : res);
    }
    function parse(final) {
      const end = data.indexOf("\r\n\r\n");
      if (end < 0) return final ? finish(new Error("connection closed before a response header:\n" + data)) : null;
      const lines = data.subarray(0, end).toString("latin1").split("\r\n");
      const status = Number(lines[0].split(" ")[1]);
      const headers = {};
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        const name = line.slice(0, colon).trim().toLowerCase();
        assert.ok(!(name in headers), `header ${name} sent twice`);
        headers[name] = line.slice(colon + 1).trim();
      }
      const body = data.subarray(end + 4);
      const res = { status, headers, body: body.toString("utf8"), statusLine: lines[0] };
      if (head || status === 204 || status === 304) {
        if (body.length > 0) return finish(new Error(`a ${status} response to ${head ? "HEAD" : "this"} has a body: ${body}`));
        return final || keep || head ? finish(null, res) : null;
      }
      if (stream) return body.length > 0 || final ? finish(null, res) : null;
      if ("content-length" in headers) {
        const n = Number(headers["content-length"]);
        if (body.length > n) return finish(new Error(`body longer than its Content-Length ${n}`));
        if (body.length === n) return finish(null, res);
        return final ? finish(new Error(`body shorter than its Content-Length ${n}`)) : null;
      }
      return final ? finish(null, res) : null;
    }
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      parse(false);
    });
    socket.on("end", () => parse(true));
    socket.on("close", () => parse(true));
    socket.on("error", (err) => (done ? null : data.length ? parse(true) : finish(err)));
    socket.write(text);
  });
}

// Builds the request text. `auth`: send the token. `body`: a string, or a
// value sent as JSON. `length`: a Content-Length to announce without
// sending the body (the server must answer before it).
function requestText(method, target, { auth = true, body, contentType, headers = {}, host = "127.0.0.1", length, keepAlive = false } = {}) {
  const lines = [`${method} ${target} HTTP/1.1`];
  if (host !== null) lines.push(`Host: ${host}`);
  lines.push(keepAlive ? "Connection: keep-alive" : "Connection: close");
  if (auth) lines.push(`Authorization: Bearer ${token}`);
  let payload = "";
  if (body !== undefined) {
    payload = typeof body === "string" ? body : JSON.stringify(body);
    lines.push(`Content-Type: ${contentType || "application/json"}`);
    lines.push(`Content-Length: ${Buffer.byteLength(payload)}`);
  } else if (length !== undefined) {
    lines.push(`Content-Type: ${contentType || "application/json"}`);
    lines.push(`Content-Length: ${length}`);
  }
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return lines.join("\r\n") + "\r\n\r\n" + payload;
}

function send(base, method, target, opts = {}) {
  return raw(base, requestText(method, target, opts), { head: method === "HEAD", stream: opts.stream });
}

// -- checking a response against the spec -----------------------------------

const covered = new Set(); // "operationId status"

function mediaType(ct) {
  return (ct || "").split(";")[0].trim().toLowerCase();
}

// Checks `res` against the response the spec documents for `o` (an
// operation, or "any" for x-any-path-responses) and `res.status`.
function check(o, res, { head = false, what = "" } = {}) {
  const name = o === "any" ? "any path" : `${o.id} (${o.method} ${o.path})`;
  const responses = o === "any" ? anyPath : o.op.responses;
  const doc = responses[String(res.status)];
  const where = `${name} ${what}: ${res.statusLine}\n${JSON.stringify(res.headers)}\n${res.body.slice(0, 500)}`;
  assert.ok(doc, `status ${res.status} is not documented for ${where}`);
  covered.add(`${o === "any" ? "any" : o.id} ${res.status}`);
  for (const [hname, h] of Object.entries(doc.headers || {})) {
    const value = res.headers[hname.toLowerCase()];
    if (value === undefined) {
      assert.ok(!h.required, `required header ${hname} missing: ${where}`);
      continue;
    }
    const parsed = h.schema.type === "integer" ? (/^\d+$/.test(value) ? Number(value) : value) : value;
    const err = errorsOf(h.schema, parsed);
    assert.equal(err, null, `header ${hname}: ${err}: ${where}`);
  }
  if (!doc.content) {
    assert.equal(res.body, "", `no body is documented: ${where}`);
    return;
  }
  const type = mediaType(res.headers["content-type"]);
  const media = doc.content[type];
  assert.ok(media, `Content-Type ${res.headers["content-type"]} is not one of ${Object.keys(doc.content)}: ${where}`);
  if (head) {
    assert.equal(res.body, "", `HEAD with a body: ${where}`);
    return;
  }
  if (type === "text/event-stream") return; // an unending stream: see its own test
  let value = res.body;
  if (type === "application/json") {
    try {
      value = JSON.parse(res.body);
    } catch {
      assert.fail(`not JSON: ${where}`);
    }
  }
  const err = errorsOf(media.schema, value);
  assert.equal(err, null, `body: ${err}: ${where}`);
  return value;
}

// A concrete path for an operation: {id} and {file} filled in.
// {type}: by default a name no server runs, so a pause is 404 and a
// resume changes nothing.
// {name}: a schedule that does not exist unless a test made it.
function target(o, { id, file = "app.js", type = "NO_SUCH_TYPE", name = "contract-x" } = {}) {
  return o.path.replace("{id}", id).replace("{file}", file).replace("{type}", type).replace("{name}", name);
}

// A request the operation accepts, as options for send().
function validInput(o) {
  if (o.id === "createJob") return { body: { type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z" } };
  if (o.id === "createJobBatch") return { body: { jobs: [{ type: "ECHO", scheduledFor: "2099-01-01T00:00:00Z" }] } };
  if (o.id === "patchJob") return { body: { priority: 1 } };
  // A type no job here uses: matches nothing, changes nothing.
  if (o.id === "bulkJobs") return { body: { action: "retry", type: "RECAP_GENERATION" } };
  // The worker protocol: a worker of a type no job here has.
  if (o.id === "workerFetch") return { body: { worker: "contract-idle", types: ["SEND_SMS"], max: 1 } };
  if (o.id === "workerHeartbeat") return { body: { worker: "contract-idle", jobs: [] } };
  return {};
}

async function createJob(body) {
  const res = await send(main, "POST", "/api/jobs", { body });
  const job = check(byId.createJob, res, { what: JSON.stringify(body) });
  assert.equal(res.status, 201);
  return job;
}

async function waitForStatus(id, status) {
  const until = Date.now() + 20000;
  for (;;) {
    const res = await send(main, "GET", `/api/jobs/${id}`);
    const job = check(byId.getJob, res);
    if (job.status === status) return job;
    assert.ok(Date.now() < until, `job ${id} did not become ${status}: ${job.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const later = "2099-01-01T00:00:00Z";
const missingId = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

// -- the tests ----------------------------------------------------------------

test("the spec's operations are the server's routes, with the same auth", () => {
  const fromSpec = operations.map((o) => `${o.method} ${o.path} ${isPublic(o) ? "public" : "token"}`).sort();
  const fromServer = routeTable.map((r) => `${r.method} ${r.path} ${r.needsAuth ? "token" : "public"}`).sort();
  assert.deepEqual(fromSpec, fromServer);
});

test("unknown paths and trailing slashes are 404 (Error body)", async () => {
  const paths = ["/api/nothing", "/api", "/api/jobs/" + missingId + "/retry/x", "/jobs/app.js/x"];
  for (const o of operations) paths.push(target(o, { id: missingId }) + "/");
  for (const path of paths) {
    const res = await send(main, "GET", path);
    assert.equal(res.status, 404, path);
    assert.equal(errorsOf(spec.components.schemas.Error, JSON.parse(res.body)), null, path);
  }
});

test("every path answers an undocumented method with 405 and its Allow", async () => {
  for (const [path, item] of Object.entries(spec.paths)) {
    const documented = methods.filter((m) => item[m]).map((m) => m.toUpperCase());
    if (documented.includes("GET")) documented.push("HEAD");
    const concrete = path.replace("{id}", missingId).replace("{file}", "app.js");
    for (const m of ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]) {
      if (documented.includes(m)) continue;
      const res = await send(main, m, concrete, m === "HEAD" ? {} : { body: {} });
      assert.equal(res.status, 405, `${m} ${path}`);
      check("any", res, { head: m === "HEAD", what: `${m} ${path}` });
      assert.deepEqual(res.headers.allow.split(", ").sort(), [...documented].sort(), `Allow of ${path}`);
      if (m !== "HEAD") assert.equal(JSON.parse(res.body).error.code, "method_not_allowed");
    }
  }
});

test("the operations' own successes and failures", async () => {
  // Health, metrics, stats.
  check(byId.getHealth, await send(main, "GET", "/healthz", { auth: false }));
  check(byId.getMetrics, await send(main, "GET", "/metrics"));
  check(byId.getStats, await send(main, "GET", "/api/stats"));

  // Enqueue: one, an array, a batch.
  const one = await createJob({ type: "ECHO", scheduledFor: later });
  const oneRes = await send(main, "POST", "/api/jobs", { body: { type: "ECHO", scheduledFor: later } });
  assert.equal(oneRes.headers.location, `/api/jobs/${JSON.parse(oneRes.body).id}`);
  const array = check(byId.createJob, await send(main, "POST", "/api/jobs", { body: [{ type: "ECHO" }, { type: "ECHO" }] }));
  assert.equal(array.jobs.length, 2);
  const batch = check(byId.createJobBatch, await send(main, "POST", "/api/jobs/batch", { body: { jobs: [{ type: "ECHO", scheduledFor: later }] } }));
  assert.equal(batch.jobs.length, 1);
  // The same with Prefer: return=minimal: ids only.
  const minimal = { headers: { Prefer: "return=minimal" } };
  const oneId = check(byId.createJob, await send(main, "POST", "/api/jobs", { body: { type: "ECHO", scheduledFor: later }, ...minimal }));
  assert.deepEqual(Object.keys(oneId), ["id"]);
  const arrayIds = check(byId.createJob, await send(main, "POST", "/api/jobs", { body: [{ type: "ECHO" }, { type: "ECHO" }], ...minimal }));
  assert.equal(arrayIds.ids.length, 2);
  const batchIds = check(byId.createJobBatch, await send(main, "POST", "/api/jobs/batch", { body: { jobs: [{ type: "ECHO", scheduledFor: later }] }, ...minimal }));
  assert.equal(batchIds.ids.length, 1);

  // Unique keys: creating with a taken key returns its holder, 200,
  // "duplicate": true, and stores nothing; a batch that stores any is 201.
  const key = `contract-${process.pid}-${Date.now()}`;
  const firstRes = await send(main, "POST", "/api/jobs", { body: { type: "ECHO", scheduledFor: later, uniqueKey: key } });
  assert.equal(firstRes.status, 201, firstRes.body);
  const first = check(byId.createJob, firstRes);
  assert.equal(first.duplicate, false);
  assert.equal(first.uniqueKey, key);
  assert.deepEqual(first.uniqueStates, ["PENDING", "PROCESSING", "COMPLETED", "FAILED"]);
  assert.equal(first.uniqueUntil, null);
  const dupRes = await send(main, "POST", "/api/jobs", { body: { type: "ECHO", uniqueKey: key, priority: 7 } });
  assert.equal(dupRes.status, 200, dupRes.body);
  const dup = check(byId.createJob, dupRes);
  assert.equal(dup.duplicate, true);
  assert.equal(dup.id, first.id);
  assert.equal(dup.priority, 0);
  assert.equal(dupRes.headers.location, `/api/jobs/${first.id}`);
  assert.deepEqual(check(byId.createJob, await send(main, "POST", "/api/jobs", { body: { type: "ECHO", uniqueKey: key }, ...minimal })),
                   { id: first.id, duplicate: true });
  const allDup = await send(main, "POST", "/api/jobs/batch", { body: { jobs: [{ type: "ECHO", uniqueKey: key }] } });
  assert.equal(allDup.status, 200, allDup.body);
  assert.equal(check(byId.createJobBatch, allDup).jobs[0].id, first.id);
  const mixed = await send(main, "POST", "/api/jobs/batch", { body: { jobs: [{ type: "ECHO", uniqueKey: key }, { type: "ECHO", scheduledFor: later }] }, ...minimal });
  assert.equal(mixed.status, 201, mixed.body);
  const mixedIds = check(byId.createJobBatch, mixed);
  assert.deepEqual(mixedIds.duplicates, [0]);
  assert.equal(mixedIds.ids[0], first.id);
  assert.notEqual(mixedIds.ids[1], first.id);
  const plain = check(byId.getJob, await send(main, "GET", `/api/jobs/${first.id}`));
  assert.equal("duplicate" in plain, false);

  // Read, list.
  check(byId.getJob, await send(main, "GET", `/api/jobs/${one.id}`));
  const page = check(byId.listJobs, await send(main, "GET", "/api/jobs?limit=2"));
  assert.equal(page.jobs.length, 2);
  check(byId.listJobs, await send(main, "GET", `/api/jobs?status=PENDING&type=ECHO&limit=1&cursor=${page.nextCursor}`));

  // Not found.
  for (const o of [byId.getJob, byId.getJobAttempts, byId.patchJob, byId.deleteJob, byId.retryJob, byId.cancelJob]) {
    const res = await send(main, o.method, target(o, { id: missingId }), validInput(o));
    assert.equal(res.status, 404, o.id);
    check(o, res);
    const shape = await send(main, o.method, target(o, { id: "not-a-ulid" }), validInput(o));
    assert.equal(shape.status, 404, o.id);
    check(o, shape);
  }

  // Change, then conflicts: a COMPLETED job cannot become FAILED or be retried.
  check(byId.patchJob, await send(main, "PATCH", `/api/jobs/${one.id}`, { body: { priority: 7, maxRetries: 1 } }));
  const done = await createJob({ type: "ECHO" });
  await waitForStatus(done.id, "COMPLETED");
  const toFailed = await send(main, "PATCH", `/api/jobs/${done.id}`, { body: { status: "FAILED" } });
  assert.equal(toFailed.status, 409);
  check(byId.patchJob, toFailed);
  const retryDone = await send(main, "POST", `/api/jobs/${done.id}/retry`);
  assert.equal(retryDone.status, 409);
  check(byId.retryJob, retryDone);

  // A FAILED job is retried.
  const failed = await createJob({ type: "ECHO", payload: { fail: true, permanent: true } });
  await waitForStatus(failed.id, "FAILED");
  const history = check(byId.getJobAttempts, await send(main, "GET", `/api/jobs/${failed.id}/attempts`));
  assert.equal(history.attempts.length, 1);
  assert.equal(history.attempts[0].outcome, "failed");
  assert.equal(history.attempts[0].error, "ECHO asked to fail");
  const retried = await send(main, "POST", `/api/jobs/${failed.id}/retry`);
  assert.equal(retried.status, 200);
  check(byId.retryJob, retried);

  // A PROCESSING job cannot be deleted; then an operator settles it.
  const slow = await createJob({ type: "ECHO", payload: { delayMs: 60000 } });
  await waitForStatus(slow.id, "PROCESSING");
  const busy = await send(main, "DELETE", `/api/jobs/${slow.id}`);
  assert.equal(busy.status, 409);
  check(byId.deleteJob, busy);
  check(byId.patchJob, await send(main, "PATCH", `/api/jobs/${slow.id}`, { body: { status: "COMPLETED" } }));
  const settled = check(byId.getJobAttempts, await send(main, "GET", `/api/jobs/${slow.id}/attempts`));
  assert.deepEqual(settled.attempts.map((a) => [a.attempt, a.outcome, a.error]), [[1, "completed", "completed by hand while it ran"]]);

  // Cancel: a PENDING job at once, a running one too (its handler stops);
  // a finished one is 409; bad bodies are 400.
  const waiting = await createJob({ type: "ECHO", scheduledFor: later });
  const cancelled = check(byId.cancelJob, await send(main, "POST", `/api/jobs/${waiting.id}/cancel`, { body: { reason: "not needed", by: "contract test" } }));
  assert.equal(cancelled.status, "CANCELLED");
  assert.equal(cancelled.error, "cancelled by contract test: not needed");
  const running = await createJob({ type: "ECHO", payload: { delayMs: 60000 } });
  await waitForStatus(running.id, "PROCESSING");
  const stopped = await send(main, "POST", `/api/jobs/${running.id}/cancel`);
  assert.equal(stopped.status, 200, stopped.body);
  assert.equal(check(byId.cancelJob, stopped).status, "CANCELLED");
  const again = await send(main, "POST", `/api/jobs/${running.id}/cancel`);
  assert.equal(again.status, 409);
  check(byId.cancelJob, again);
  const badBody = await send(main, "POST", `/api/jobs/${waiting.id}/cancel`, { body: { why: "x" } });
  assert.equal(badBody.status, 400);
  assert.equal(check(byId.cancelJob, badBody).error.field, "why");
  const asText = await send(main, "POST", `/api/jobs/${waiting.id}/cancel`, { body: "{}", contentType: "text/plain" });
  assert.equal(asText.status, 415);
  check(byId.cancelJob, asText);

  // Pause and resume a type (RECAP_GENERATION: no job here uses it); an
  // unknown type is 404 for a pause and for a name no type can have.
  const paused = check(byId.pauseType, await send(main, "POST", "/api/types/RECAP_GENERATION/pause", { body: { reason: "contract", by: "test" } }));
  assert.equal(paused.note, "paused by test: contract");
  assert.deepEqual(check(byId.getStats, await send(main, "GET", "/api/stats")).paused.map((p) => p.type), ["RECAP_GENERATION"]);
  const unknownType = await send(main, "POST", "/api/types/NO_SUCH_TYPE/pause");
  assert.equal(unknownType.status, 404);
  check(byId.pauseType, unknownType);
  const resumed = check(byId.resumeType, await send(main, "POST", "/api/types/RECAP_GENERATION/resume"));
  assert.equal(resumed.wasPaused, true);
  const noName = await send(main, "POST", `/api/types/${"T".repeat(101)}/resume`);
  assert.equal(noName.status, 404);
  check(byId.resumeType, noName);

  // Schedules: created (201), redefined (200), listed, read, paused,
  // resumed, run by hand (201), deleted (204); each unknown name 404.
  // February 29th, 03:00: no run comes due while the tests run.
  const sched = { cron: "0 3 29 2 *", type: "ECHO", payload: { from: "contract" } };
  const made = await send(main, "PUT", "/api/schedules/contract", { body: sched });
  assert.equal(made.status, 201, made.body);
  assert.equal(check(byId.putSchedule, made).name, "contract");
  const redefined = await send(main, "PUT", "/api/schedules/contract", { body: { ...sched, missed: "catch_up" } });
  assert.equal(redefined.status, 200, redefined.body);
  assert.equal(check(byId.putSchedule, redefined).missed, "catch_up");
  assert.ok(check(byId.listSchedules, await send(main, "GET", "/api/schedules")).schedules.some((x) => x.name === "contract"));
  check(byId.getSchedule, await send(main, "GET", "/api/schedules/contract"));
  assert.equal(check(byId.pauseSchedule, await send(main, "POST", "/api/schedules/contract/pause")).paused, true);
  assert.equal(check(byId.resumeSchedule, await send(main, "POST", "/api/schedules/contract/resume")).paused, false);
  const ran = await send(main, "POST", "/api/schedules/contract/run");
  assert.equal(ran.status, 201, ran.body);
  assert.equal(check(byId.runSchedule, ran).type, "ECHO");
  for (const [id, method, suffix] of [["getSchedule", "GET", ""], ["pauseSchedule", "POST", "/pause"], ["resumeSchedule", "POST", "/resume"], ["runSchedule", "POST", "/run"], ["deleteSchedule", "DELETE", ""]]) {
    const res = await send(main, method, `/api/schedules/nope${suffix}`);
    assert.equal(res.status, 404, `${id}: ${res.body}`);
    check(byId[id], res);
  }
  const unscheduled = await send(main, "DELETE", "/api/schedules/contract");
  assert.equal(unscheduled.status, 204);
  check(byId.deleteSchedule, unscheduled);

  // Delete.
  const gone = await send(main, "DELETE", `/api/jobs/${one.id}`);
  assert.equal(gone.status, 204);
  check(byId.deleteJob, gone);
});

test("the event stream", async () => {
  const res = await send(main, "GET", "/api/events", { stream: true });
  check(byId.streamEvents, res);
  assert.equal(res.status, 200);
  assert.match(res.body, /^retry: \d+\n/);
  const byQuery = await send(main, "GET", `/api/events?token=${token}`, { auth: false, stream: true });
  assert.equal(byQuery.status, 200);
  check(byId.streamEvents, byQuery);
});

test("static files: 200, 304 with the ETag, 404 without the dashboard", async () => {
  const statics = operations.filter((o) => o.op.responses["304"]);
  assert.ok(statics.length >= 5);
  for (const o of statics) {
    const files = o.path.includes("{file}") ? o.op.parameters.find((p) => p.name === "file").schema.enum : [undefined];
    for (const file of files) {
      const path = target(o, { file });
      const res = await send(main, "GET", path, { auth: false });
      assert.equal(res.status, 200, path);
      check(o, res, { what: path });
      const again = await send(main, "GET", path, { auth: false, headers: { "If-None-Match": res.headers.etag } });
      assert.equal(again.status, 304, path);
      check(o, again, { what: path });
      assert.equal(again.headers.etag, res.headers.etag);
    }
    if (o.op.responses["404"]) {
      // No such file, or the dashboard is off.
      const off = await send(bare, "GET", target(o, { file: "app.js" }), { auth: false });
      if (o.id !== "getOpenApi") {
        assert.equal(off.status, 404, o.path);
        check(o, off, { what: "dashboard off" });
      }
    } else {
      const served = await send(bare, "GET", target(o), { auth: false });
      assert.equal(served.status, 200, `${o.path} is served without the dashboard`);
    }
  }
  for (const name of ["nothing.js", "index.html", "openapi.yaml", "jobs-client.js"]) {
    const res = await send(main, "GET", `/jobs/${name}`, { auth: false });
    assert.equal(res.status, 404, `/jobs/${name} is not a dashboard file`);
    check(byId.getDashboardFile, res, { what: name });
  }
});

test("HEAD on every GET operation: GET's status and headers, no body", async () => {
  const job = await createJob({ type: "ECHO", scheduledFor: later });
  for (const o of operations.filter((x) => x.method === "GET")) {
    const path = target(o, { id: job.id });
    const get = await send(main, "GET", path, { stream: o.id === "streamEvents" });
    const head = await send(main, "HEAD", path);
    assert.equal(head.status, get.status, path);
    assert.equal(head.headers["content-type"], get.headers["content-type"], path);
    check(o, head, { head: true, what: "HEAD" });
  }
});

test("a request the spec's schema refuses is 400; one it accepts is not", async () => {
  const pending = await createJob({ type: "ECHO", scheduledFor: later });
  const cases = [
    ["createJob", { type: "ECHO", payload: { a: 1 }, priority: -3, scheduledFor: null, maxRetries: 0 }, true],
    ["createJob", [{ type: "ECHO", scheduledFor: later }], true],
    ["createJob", [], false],
    ["createJob", { payload: {} }, false],
    ["createJob", { type: "" }, false],
    ["createJob", { type: "ECHO", colour: "red" }, false],
    ["createJob", { type: "ECHO", maxRetries: 101 }, false],
    ["createJob", { type: "ECHO", priority: 1.5 }, false],
    ["createJob", { type: "ECHO", priority: 2 ** 31 }, false],
    ["createJob", { type: "ECHO", scheduledFor: "tomorrow" }, false],
    ["createJob", "just a string", false],
    ["createJob", { type: "ECHO", scheduledFor: later, uniqueKey: `schema-${process.pid}-${Date.now()}`, uniqueStates: ["PENDING", "PROCESSING"], uniquePeriodMs: 60000 }, true],
    ["createJob", { type: "ECHO", uniqueKey: "" }, false],
    ["createJob", { type: "ECHO", uniqueKey: "k".repeat(256) }, false],
    ["createJob", { type: "ECHO", uniqueKey: "k", uniqueStates: ["PENDING"] }, false],
    ["createJob", { type: "ECHO", uniqueKey: "k", uniqueStates: ["PENDING", "DONE"] }, false],
    ["createJob", { type: "ECHO", uniqueKey: "k", uniquePeriodMs: 0 }, false],
    ["createJob", { type: "ECHO", uniqueKey: "k", uniquePeriodMs: 31622400001 }, false],
    ["createJobBatch", { jobs: [{ type: "ECHO", scheduledFor: later }] }, true],
    ["createJobBatch", { jobs: [] }, false],
    ["createJobBatch", { jobs: [{ type: "ECHO" }], note: "extra" }, false],
    ["createJobBatch", [{ type: "ECHO" }], false],
    ["patchJob", { priority: 5, scheduledFor: null, result: { a: 1 }, error: null }, true],
    ["patchJob", {}, false],
    ["patchJob", { type: "ECHO" }, false],
    ["patchJob", { status: "DONE" }, false],
    ["patchJob", { status: "pending" }, false],
    ["patchJob", { maxRetries: -1 }, false],
    ["cancelJob", { reason: "r".repeat(501) }, false],
    ["cancelJob", { by: 7 }, false],
    ["cancelJob", [], false],
    ["pauseType", { reason: "r".repeat(501) }, false],
    ["pauseType", { by: 7 }, false],
    ["pauseType", { note: "x" }, false],
    ["bulkJobs", { action: "retry", type: "RECAP_GENERATION", max: 10 }, true],
    ["bulkJobs", { action: "delete", type: "RECAP_GENERATION", finishedBefore: "2020-01-01T00:00:00Z" }, true],
    ["bulkJobs", { action: "cancel", type: "RECAP_GENERATION", status: "PENDING", reason: "r", by: "b" }, true],
    ["bulkJobs", {}, false],
    ["bulkJobs", { action: "purge" }, false],
    ["bulkJobs", { action: "retry", max: 0 }, false],
    ["bulkJobs", { action: "retry", max: 10001 }, false],
    ["bulkJobs", { action: "retry", status: "DONE" }, false],
    ["bulkJobs", { action: "retry", filter: {} }, false],
    ["bulkJobs", { action: "cancel", reason: "r".repeat(501) }, false],
    ["putSchedule", { cron: "0 3 29 2 *", type: "ECHO", priority: 2, maxRetries: 0, missed: "skip", catchUpMs: 60000, timeZone: "UTC", payload: {} }, true],
    ["putSchedule", { type: "ECHO" }, false],
    ["putSchedule", { cron: "* * * * *" }, false],
    ["putSchedule", { cron: "* * * * *", type: "ECHO", maxRetries: 101 }, false],
    ["putSchedule", { cron: "* * * * *", type: "ECHO", missed: "later" }, false],
    ["putSchedule", { cron: "* * * * *", type: "ECHO", catchUpMs: 10 }, false],
    ["putSchedule", { cron: "* * * * *", type: "ECHO", payload: [1] }, false],
    ["putSchedule", { cron: "* * * * *", type: "ECHO", every: "day" }, false],
  ];
  for (const [id, body, valid] of cases) {
    const o = byId[id];
    const schema = o.op.requestBody.content["application/json"].schema;
    const what = `${id} ${JSON.stringify(body)}`;
    // The case says what the spec says (else the case is wrong).
    assert.equal(errorsOf(schema, body) === null, valid, `the spec ${valid ? "refuses" : "accepts"} ${what}`);
    const res = await send(main, o.method, target(o, { id: pending.id, type: "RECAP_GENERATION" }), { body: typeof body === "string" ? JSON.stringify(body) : body });
    check(o, res, { what });
    if (valid) assert.ok(res.status < 300, `${what}: ${res.status} ${res.body}`);
    else {
      assert.equal(res.status, 400, `${what}: ${res.body}`);
      // The body as a whole is field "", a field by its path.
      assert.equal(typeof JSON.parse(res.body).error.field, "string", `${what}: ${res.body}`);
    }
  }
  // Not left behind for the other tests.
  assert.equal((await send(main, "DELETE", "/api/schedules/contract-x")).status, 204);
  // Query parameters: what the spec's schemas refuse, and names it lacks.
  const list = byId.listJobs;
  const params = Object.fromEntries(list.op.parameters.map((p) => [p.name, p.schema]));
  for (const [query, valid] of [
    ["status=FAILED", true],
    ["status=pending", false],
    ["limit=500", true],
    ["limit=0", false],
    ["limit=501", false],
    ["limit=ten", false],
    ["colour=red", false],
  ]) {
    const [name, value] = query.split("=");
    const n = Number(value);
    const specValid = name in params && errorsOf(params[name], Number.isNaN(n) ? value : n) === null;
    assert.equal(specValid, valid, `the spec on ${query}`);
    const res = await send(main, "GET", `/api/jobs?${query}`);
    check(list, res, { what: query });
    assert.equal(res.status, valid ? 200 : 400, query);
    if (!valid) assert.equal(JSON.parse(res.body).error.field, name);
  }
});

test("the worker protocol: fetch, heartbeat, complete, fail; 409 for an attempt not held; 400 naming the field", async () => {
  const worker = "contract-worker";
  const a = await createJob({ type: "SEND_SMS", payload: { to: "+1555" }, priority: 9 });
  const b = await createJob({ type: "SEND_SMS", payload: { to: "+1666" }, priority: 8 });
  const fetched = check(byId.workerFetch, await send(main, "POST", "/api/worker/fetch", { body: { worker, types: ["SEND_SMS"], max: 2, leaseMs: 60000, host: "contract-host" } }));
  assert.deepEqual(fetched.jobs.map((j) => [j.id, j.attempt, j.lockedBy]), [[a.id, 1, worker], [b.id, 1, worker]]);
  // The worker is listed with its host, types and the jobs it holds.
  const seen = check(byId.listWorkers, await send(main, "GET", "/api/workers"));
  const me = seen.workers.find((w) => w.id === worker);
  assert.ok(me, JSON.stringify(seen));
  assert.deepEqual([me.host, me.types, me.online, me.jobs], ["contract-host", ["SEND_SMS"], true, [a.id, b.id]]);
  const beat = check(byId.workerHeartbeat, await send(main, "POST", "/api/worker/heartbeat", { body: { worker, jobs: [{ id: a.id, attempt: 1 }, { id: b.id, attempt: 1 }] } }));
  assert.deepEqual(beat, { renewed: [a.id, b.id], lost: [] });
  const stale = await send(main, "POST", "/api/worker/complete", { body: { worker, id: a.id, attempt: 2 } });
  assert.equal(stale.status, 409);
  check(byId.workerComplete, stale);
  const done = check(byId.workerComplete, await send(main, "POST", "/api/worker/complete", { body: { worker, id: a.id, attempt: 1, result: { sid: "SM1" } } }));
  assert.deepEqual(done, { id: a.id, status: "COMPLETED" });
  const c1 = await createJob({ type: "SEND_SMS", payload: { to: "+1777" }, priority: 7 });
  const many = check(byId.workerFetch, await send(main, "POST", "/api/worker/fetch", { body: { worker, types: ["SEND_SMS"], max: 1 } }));
  assert.deepEqual(many.jobs.map((j) => j.id), [c1.id]);
  const all = check(byId.workerCompleteAll, await send(main, "POST", "/api/worker/complete-all", { body: { worker, jobs: [{ id: c1.id, attempt: 1, result: 7 }, { id: a.id, attempt: 1 }] } }));
  assert.deepEqual(all, { completed: [c1.id], lost: [a.id] });
  const noJobs = await send(main, "POST", "/api/worker/complete-all", { body: { worker, jobs: [] } });
  assert.equal(noJobs.status, 400);
  check(byId.workerCompleteAll, noJobs);
  const failed = check(byId.workerFail, await send(main, "POST", "/api/worker/fail", { body: { worker, id: b.id, attempt: 1, error: "carrier down", retryAfterMs: 60000 } }));
  assert.equal(failed.status, "PENDING");
  assert.equal(failed.retryCount, 1);
  const again = await send(main, "POST", "/api/worker/fail", { body: { worker, id: b.id, attempt: 1, error: "twice" } });
  assert.equal(again.status, 409);
  check(byId.workerFail, again);
  const badType = await send(main, "POST", "/api/worker/fetch", { body: { worker, types: ["ECHO"] } });
  assert.equal(badType.status, 400);
  check(byId.workerFetch, badType);
  assert.equal(JSON.parse(badType.body).error.field, "types[0]");
  for (const [o, body] of [[byId.workerHeartbeat, { worker }], [byId.workerComplete, { worker, id: a.id }], [byId.workerFail, { worker, id: b.id, attempt: 1 }]]) {
    const res = await send(main, "POST", o.path, { body });
    assert.equal(res.status, 400, o.id);
    check(o, res);
  }
});

test("errors every operation can give: 400, 401, 413, 415, 431", async () => {
  const job = await createJob({ type: "ECHO", scheduledFor: later });
  for (const o of operations) {
    const path = target(o, { id: job.id });
    const input = validInput(o);
    // 400: a malformed request (two Host headers), for any route.
    const twoHosts = await raw(main, requestText(o.method, path, { ...input, headers: { Host: "again" } }));
    assert.equal(twoHosts.status, 400, `${o.id} two Hosts`);
    check(o, twoHosts, { what: "two Hosts" });
    assert.equal(JSON.parse(twoHosts.body).error.code, "bad_request");
    // 431.
    const big = await send(main, o.method, path, { ...input, headers: { "X-Big": "a".repeat(17 * 1024) } });
    assert.equal(big.status, 431, `${o.id} big header`);
    check(o, big, { what: "big header" });
    // 413: a Content-Length over the limit, body not sent.
    const batchRoute = o.id === "createJobBatch" || o.id === "workerCompleteAll"; // http.batch_body_limit
    const limit = batchRoute ? batchBodyLimit : takesBody(o) ? bodyLimit : 64 * 1024;
    const tooBig = await send(main, o.method, path, { length: limit + 1 });
    assert.equal(tooBig.status, 413, `${o.id} body over ${limit}`);
    check(o, tooBig, { what: "body too large" });
    // 401.
    if (!isPublic(o)) {
      const anon = await send(main, o.method, path, { ...input, auth: false });
      assert.equal(anon.status, 401, `${o.id} without a token`);
      check(o, anon, { what: "no token" });
      assert.equal(anon.headers["www-authenticate"], 'Bearer realm="jobd"');
    }
    // 415.
    if (takesBody(o)) {
      const text = await send(main, o.method, path, { body: "type=ECHO", contentType: "text/plain" });
      assert.equal(text.status, 415, `${o.id} text/plain`);
      check(o, text, { what: "text/plain" });
    }
  }
});

test("at http.max_connections every operation gets 503 with Retry-After", async () => {
  const held = [];
  try {
    // Fill the server up with connections it admitted (each answered one
    // keep-alive request and stays open) until one is refused.
    let refused = null;
    for (let i = 0; i < maxConnections + 8 && !refused; ++i) {
      const res = await raw(main, requestText("GET", "/healthz", { auth: false, keepAlive: true }), { keep: true });
      held.push(res.socket);
      if (res.status === 503) refused = res;
    }
    assert.ok(refused, `no 503 after ${held.length} connections`);
    check(byId.getHealth, refused);
    const job = await createJob({ type: "ECHO", scheduledFor: later }).catch(() => null);
    for (const o of operations) {
      const path = target(o, { id: job ? job.id : missingId });
      // A connection another client closed meanwhile frees a slot: keep
      // what is admitted and ask again (each try takes one slot for good).
      for (let tries = 0; ; ++tries) {
        const res = await raw(main, requestText(o.method, path, { ...validInput(o), keepAlive: true }), { keep: true, head: false });
        held.push(res.socket);
        if (res.status === 503) {
          check(o, res, { what: "at max_connections" });
          assert.equal(JSON.parse(res.body).error.code, "too_many_connections");
          break;
        }
        assert.ok(tries < 8, `${o.id}: admitted ${tries} times at max_connections`);
      }
    }
  } finally {
    for (const s of held) s.destroy();
  }
});

test("/metrics has exactly the families its description lists", async () => {
  const res = await send(main, "GET", "/metrics");
  check(byId.getMetrics, res);
  const served = [...res.body.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  const documented = [...byId.getMetrics.op.description.matchAll(/^\| (jobd_\w+) \| (\w+) \|/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
  assert.deepEqual(served, documented);
  for (const family of served.map((f) => f.split(" ")[0]))
    assert.match(res.body, new RegExp(`^# HELP ${family} \\S`, "m"), `${family} has HELP`);
});

test("every status every operation lists was driven", () => {
  // All but 500: a database error cannot be caused from outside.
  const missing = [];
  for (const o of operations)
    for (const status of Object.keys(o.op.responses))
      if (status !== "500" && !covered.has(`${o.id} ${status}`)) missing.push(`${o.id} ${status}`);
  for (const status of Object.keys(anyPath)) if (!covered.has(`any ${status}`)) missing.push(`any path ${status}`);
  assert.deepEqual(missing, [], "documented statuses never driven");
});
