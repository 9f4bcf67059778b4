// http/openapi.yaml is valid OpenAPI 3 and lint-clean, by tools nobody here
// wrote: @apidevtools/swagger-parser validates it against the official
// OpenAPI 3.0 schema, @redocly/cli lints it (redocly.yaml). Then the rules
// of this API that no linter knows. Run by test_http (contract_test.cpp):
//   node --test spec.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";
import SwaggerParser from "@apidevtools/swagger-parser";

const here = dirname(fileURLToPath(import.meta.url));
export const specPath = join(here, "../../../http/openapi.yaml");
const methods = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

function operations(spec) {
  const out = [];
  for (const [path, item] of Object.entries(spec.paths))
    for (const m of methods) if (item[m]) out.push({ path, method: m, op: item[m] });
  return out;
}

test("swagger-parser: valid OpenAPI 3.0", async () => {
  // Throws with the first violation (parse, schema or $ref).
  const api = await SwaggerParser.validate(specPath);
  assert.match(api.openapi, /^3\.0\./);
});

test("redocly lint: no errors and no warnings", () => {
  const bin = join(here, "node_modules/.bin/redocly");
  const r = spawnSync(bin, ["lint", "--format", "json", "--config", join(here, "redocly.yaml"), specPath], {
    encoding: "utf8",
    // Offline: no usage reports, no update check.
    env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
  });
  let report;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    assert.fail("redocly printed no JSON report:\n" + r.stdout + r.stderr);
  }
  const problems = report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location?.[0]?.pointer}`);
  assert.deepEqual(problems, []);
  assert.deepEqual(report.totals, { errors: 0, warnings: 0, ignored: 0 });
  assert.equal(r.status, 0, r.stderr);
});

test("every operation lists the statuses any request can get", async () => {
  const spec = await SwaggerParser.parse(specPath);
  const problems = [];
  for (const { path, method, op } of operations(spec)) {
    const name = `${method.toUpperCase()} ${path}`;
    const codes = Object.keys(op.responses);
    // Malformed HTTP, a header over 16 KiB, a body over the limit (64 KiB
    // where none is taken) and the connection cap reach every route.
    for (const code of ["400", "413", "431", "503"])
      if (!codes.includes(code)) problems.push(`${name}: no ${code}`);
    const isPublic = Array.isArray(op.security) && op.security.length === 0;
    if (!isPublic && !codes.includes("401")) problems.push(`${name}: needs a token but lists no 401`);
    if (isPublic && codes.includes("401")) problems.push(`${name}: public but lists 401`);
    if (op.requestBody && !codes.includes("415")) problems.push(`${name}: takes a body but lists no 415`);
    if (!op.requestBody && codes.includes("415")) problems.push(`${name}: takes no body but lists 415`);
    if (!/^[a-z][A-Za-z]+$/.test(op.operationId || "")) problems.push(`${name}: operationId ${op.operationId}`);
  }
  assert.deepEqual(problems, []);
});

test("every error response is the Error body (or Health on /healthz)", async () => {
  const spec = await SwaggerParser.parse(specPath);
  const problems = [];
  const resolve = (r) => (r.$ref ? spec.components.responses[r.$ref.split("/").pop()] : r);
  const any = spec["x-any-path-responses"];
  assert.ok(any && any["405"], "x-any-path-responses documents 405");
  const all = operations(spec).flatMap(({ path, method, op }) =>
    Object.entries(op.responses).map(([code, r]) => [`${method.toUpperCase()} ${path} ${code}`, code, resolve(r)]));
  all.push(["any path 405", "405", any["405"]]);
  for (const [name, code, r] of all) {
    if (Number(code) < 400) continue;
    const schema = r.content && r.content["application/json"] && r.content["application/json"].schema;
    const refs = JSON.stringify(schema || {});
    if (!refs.includes("#/components/schemas/Error")) problems.push(`${name}: not the Error schema`);
  }
  assert.deepEqual(problems, []);
});
