// The client module's types cannot drift from the spec or from the module:
// 1. openapi-typescript generates types from http/openapi.yaml, and tsc
//    type-checks types/client-vs-spec.ts, which holds the hand-written
//    http/client/index.d.ts against them;
// 2. the .d.ts declares exactly what index.js exports.
// Run by test_http (contract_test.cpp): node --test types.test.mjs
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../..");
const bin = (name) => join(here, "node_modules/.bin", name);

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  return { status: r.status, out: (r.stdout || "") + (r.stderr || "") };
}

test("index.d.ts agrees with the types generated from openapi.yaml", () => {
  mkdirSync(join(here, "generated"), { recursive: true });
  // Defaults do not make request fields required (they may be left out).
  const gen = run(bin("openapi-typescript"), [
    join(root, "http/openapi.yaml"),
    "--default-non-nullable", "false",
    "-o", join(here, "generated/openapi.d.ts"),
  ], join(here, "generated"));
  assert.equal(gen.status, 0, gen.out);
  const tsc = run(bin("tsc"), ["-p", join(here, "types/tsconfig.json")], here);
  assert.equal(tsc.status, 0, "tsc --noEmit:\n" + tsc.out);
});

test("index.d.ts declares exactly what index.js exports", async () => {
  const dts = join(root, "http/client/index.d.ts");
  const program = ts.createProgram([dts], { noEmit: true, types: [] });
  const checker = program.getTypeChecker();
  const symbol = checker.getSymbolAtLocation(program.getSourceFile(dts));
  // Values only (functions, classes): interfaces and type aliases have no
  // counterpart at run time.
  const declared = checker
    .getExportsOfModule(symbol)
    .filter((s) => s.flags & ts.SymbolFlags.Value)
    .map((s) => s.name)
    .sort();
  const mod = await import(pathToFileURL(join(root, "http/client/index.js")).href);
  assert.deepEqual(declared, Object.keys(mod).sort());
});
