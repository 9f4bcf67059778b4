// The client package (http/client) as another project uses it:
// 1. it resolves by its name, jobd-client (package.json here links it), to
//    http/client's files, for Node and for TypeScript;
// 2. tsc --noEmit over example-app (a strict React app on the package)
//    passes, as a bundler and as Node resolve it; its lines that must not
//    compile carry @ts-expect-error directives (an unused one fails tsc);
// 3. each such directive covers the error it names, on its own line, and
//    no other line has an error: the types refuse those jobs for the reason
//    given, not by accident;
// 4. on a live jobd (JOBD_URL; a `jobd serve` whose OpenAI API is a fake
//    served here on FAKE_OPENAI_PORT), the example jobs run and each result
//    has the shape its type declares (JobResults), and each wrong job is
//    refused with the field its test names: the types and the handlers
//    agree. Skipped without JOBD_URL; test_http (contract_test.cpp) sets it
//    and fails if anything was skipped.
// Run: node --test client-package.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";
import ts from "typescript";

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, "../../..");
const clientDir = join(root, "http/client");
const appDir = join(here, "example-app");
const tsc = join(here, "node_modules/.bin/tsc");
const base = process.env.JOBD_URL;
const fakePort = Number(process.env.FAKE_OPENAI_PORT || 0);
const live = base && fakePort ? false : "set JOBD_URL and FAKE_OPENAI_PORT (test_http does)";

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: here, encoding: "utf8" });
  return { status: r.status, out: (r.stdout || "") + (r.stderr || "") };
}

// -- 1. the package ----------------------------------------------------------------

test("jobd-client resolves by its name to http/client, for Node and TypeScript", async () => {
  const pkg = JSON.parse(readFileSync(join(clientDir, "package.json"), "utf8"));
  assert.equal(pkg.name, "jobd-client");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.dependencies, undefined, "the module has no dependencies");
  assert.equal(pkg.peerDependencies, undefined, "React is handed over (setReact), not imported");
  for (const file of pkg.files) readFileSync(join(clientDir, file)); // each exists

  // Node: the name leads to index.js (through node_modules' link).
  const url = import.meta.resolve("jobd-client");
  assert.equal(realpathSync(fileURLToPath(url)), join(clientDir, "index.js"));
  const byName = await import("jobd-client");
  const byPath = await import(pathToFileURL(join(clientDir, "index.js")).href);
  assert.equal(byName.createJob, byPath.createJob, "one module, not a copy");

  // TypeScript: the name leads to index.d.ts, as a bundler and as Node see it.
  const from = join(appDir, "src/App.tsx");
  for (const moduleResolution of [ts.ModuleResolutionKind.Bundler, ts.ModuleResolutionKind.NodeNext]) {
    const options = {
      moduleResolution,
      module: moduleResolution === ts.ModuleResolutionKind.Bundler ? ts.ModuleKind.ESNext : ts.ModuleKind.NodeNext,
    };
    const r = ts.resolveModuleName("jobd-client", from, options, ts.sys);
    assert.ok(r.resolvedModule, `resolution ${moduleResolution}`);
    assert.equal(realpathSync(r.resolvedModule.resolvedFileName), join(clientDir, "index.d.ts"));
  }
});

// -- 2. the example app -------------------------------------------------------------

test("tsc --noEmit passes over the example app, resolved as a bundler and as Node would", () => {
  for (const flags of [[], ["--module", "nodenext", "--moduleResolution", "nodenext"]]) {
    const r = run(tsc, ["-p", appDir, ...flags]);
    assert.equal(r.status, 0, `tsc -p example-app ${flags.join(" ")}:\n${r.out}`);
  }
});

// -- 3. the expected errors -----------------------------------------------------------

// Directives written as "// @ts-expect-error TSnnnn why".
const directive = /^\s*\/\/ @ts-expect-error (TS\d+)\b/;

test("each @ts-expect-error in the example app covers the error it names, and no other error exists", () => {
  const config = ts.getParsedCommandLineOfConfigFile(join(appDir, "tsconfig.json"), {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, "\n")),
  });
  // The sources with every directive disarmed (same length, so positions
  // stay), and what each expected: the code on the line after it.
  const expected = [];
  const host = ts.createCompilerHost(config.options);
  const read = host.readFile.bind(host);
  host.readFile = (file) => {
    const text = read(file);
    if (text === undefined || !file.startsWith(join(appDir, "src"))) return text;
    const lines = text.split("\n");
    lines.forEach((line, i) => {
      const m = directive.exec(line);
      if (m) expected.push({ file, line: i + 1, code: m[1] }); // 0-based line i+1 = the next line
    });
    return text.replaceAll("// @ts-expect-error", "// (error expected)");
  };
  const program = ts.createProgram(config.fileNames, config.options, host);
  const errors = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === ts.DiagnosticCategory.Error)
    .map((d) => {
      const at = d.file ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      return {
        file: d.file ? d.file.fileName : "",
        line: at,
        code: "TS" + d.code,
        text: ts.flattenDiagnosticMessageText(d.messageText, " "),
      };
    });
  const where = (e) => `${e.file.slice(appDir.length + 1)}:${e.line + 1} ${e.code}`;
  // Both files hold some, and every directive carries its code.
  const inFile = (name) => expected.filter((e) => e.file.endsWith(name)).length;
  assert.ok(inFile("wrong-jobs.ts") >= 10 && inFile("type-checks.ts") >= 5, JSON.stringify(expected.map(where)));
  for (const name of ["wrong-jobs.ts", "type-checks.ts"]) {
    const text = readFileSync(join(appDir, "src", name), "utf8");
    assert.equal((text.match(/\/\/ @ts-expect-error/g) || []).length, inFile(name), `${name}: a directive without a code`);
  }
  for (const e of expected)
    assert.ok(
      errors.some((d) => d.file === e.file && d.line === e.line && d.code === e.code),
      `no ${e.code} at ${where(e)}; errors there: ` +
        JSON.stringify(errors.filter((d) => d.file === e.file && d.line === e.line).map((d) => `${d.code} ${d.text}`)),
    );
  const stray = errors.filter((d) => !expected.some((e) => e.file === d.file && e.line === d.line));
  assert.deepEqual(stray.map((d) => `${where(d)} ${d.text}`), [], "errors no directive expects");
});

// -- 4. against a live jobd -------------------------------------------------------------

// What the fake OpenAI API was asked, one request body per call.
const chatRequests = [];
let fakeOpenAi;
let client;
let examples;
let wrong;

// Compiles an example-app module to JavaScript beside node_modules (so that
// its `import ... from "jobd-client"` resolves) and imports it.
async function importFromApp(name) {
  const source = readFileSync(join(appDir, "src", name + ".ts"), "utf8");
  const js = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
  }).outputText;
  const dir = join(here, "generated/example-app");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, name + ".mjs");
  writeFileSync(file, js);
  return import(pathToFileURL(file).href);
}

before(async () => {
  if (live) return;
  fakeOpenAi = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const ask = JSON.parse(body);
      chatRequests.push(ask);
      const prompt = ask.messages.at(-1).content;
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          id: "chatcmpl-1",
          object: "chat.completion",
          model: ask.model,
          choices: [{ index: 0, message: { role: "assistant", content: "About: " + prompt }, finish_reason: "stop" }],
          usage: { prompt_tokens: 11, completion_tokens: 5, total_tokens: 16 },
        }),
      );
    });
  });
  await new Promise((resolve, reject) => {
    fakeOpenAi.once("error", reject);
    fakeOpenAi.listen(fakePort, "127.0.0.1", resolve);
  });
  client = await import("jobd-client");
  client.configure({ baseUrl: base });
  examples = await importFromApp("jobs");
  wrong = await importFromApp("wrong-jobs");
});

after(() => fakeOpenAi && fakeOpenAi.close());

// Waits for the job to finish (polling, up to a deadline; no fixed sleeps).
async function finished(id, ms = 20000) {
  const until = Date.now() + ms;
  for (;;) {
    const job = await client.getJob(id);
    if (client.isFinished(job)) return job;
    if (Date.now() > until) assert.fail(`job ${id} (${job.type}) still ${job.status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// The shape of JobResults[type] as index.d.ts declares it (read with the
// compiler's API): {field: shape} for objects, else "string", "number" or
// "boolean".
function declaredResults() {
  const dts = join(clientDir, "index.d.ts");
  const program = ts.createProgram([dts], { noEmit: true, types: [], strict: true });
  const checker = program.getTypeChecker();
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(dts)));
  const results = checker.getDeclaredTypeOfSymbol(exports.find((s) => s.name === "JobResults"));
  const shape = (type) => {
    if (type.flags & ts.TypeFlags.StringLike) return "string";
    if (type.flags & ts.TypeFlags.NumberLike) return "number";
    if (type.flags & ts.TypeFlags.BooleanLike) return "boolean";
    assert.ok(type.flags & ts.TypeFlags.Object, checker.typeToString(type));
    const out = {};
    for (const p of checker.getPropertiesOfType(type)) {
      assert.ok(!(p.flags & ts.SymbolFlags.Optional), `${p.name}: a result field is always there`);
      out[p.name] = shape(checker.getTypeOfSymbol(p));
    }
    return out;
  };
  return {
    types: checker.getPropertiesOfType(results).map((p) => p.name),
    shape: (type) => shape(checker.getTypeOfSymbol(checker.getPropertyOfType(results, type))),
  };
}

function shapeOf(value) {
  if (typeof value !== "object" || value === null) return typeof value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shapeOf(v)]));
}

test("jobd runs each example job, and each result has its type's declared shape", { skip: live }, async () => {
  const declared = declaredResults();
  assert.deepEqual(declared.types.sort(), ["ECHO", "FINE_TUNE_EXPORT", "PREVIEW_GENERATION", "RECAP_GENERATION"]);
  const types = new Set();
  for (const example of examples.exampleJobs) {
    types.add(example.type);
    const created = await client.createJob(example);
    assert.equal(created.type, example.type);
    assert.deepEqual(created.payload, example.payload, "the payload as sent");
    const job = await finished(created.id);
    assert.equal(job.status, "COMPLETED", `${job.type}: ${job.error}`);
    if (job.type === "ECHO") {
      // ECHO's result is its payload (EchoResult = EchoPayload).
      assert.deepEqual(job.result, example.payload);
    } else {
      assert.deepEqual(shapeOf(job.result), declared.shape(job.type), `${job.type}'s result`);
    }
    if (job.type === "FINE_TUNE_EXPORT") {
      assert.equal(job.result.fileName, "example-app.jsonl");
      assert.equal(job.result.sampleCount, example.payload.samples.length);
      const lines = readFileSync(job.result.filePath, "utf8").trim().split("\n");
      assert.equal(lines.length, example.payload.samples.length);
    }
    if (job.type === "PREVIEW_GENERATION" || job.type === "RECAP_GENERATION") {
      assert.equal(job.result.prompt, example.payload.prompt);
      assert.equal(job.result.content, "About: " + example.payload.prompt);
      assert.equal(job.result.usage.total_tokens, 16);
    }
  }
  assert.equal(types.size, 4, "one example per built-in type");
  // The chat payloads' optional fields reach the API under their names.
  const preview = chatRequests.find((r) => r.messages.at(-1).content === examples.previewJob.payload.prompt);
  const recap = chatRequests.find((r) => r.messages.at(-1).content === examples.recapJob.payload.prompt);
  assert.equal(preview.temperature, examples.previewJob.payload.temperature);
  assert.equal(recap.model, examples.recapJob.payload.model);
  assert.equal(recap.max_tokens, examples.recapJob.payload.maxTokens);
});

test("jobd refuses each job the types refuse, naming the field", { skip: live }, async () => {
  assert.ok(wrong.wrongJobs.length >= 10);
  for (const w of wrong.wrongJobs)
    await assert.rejects(w.create(), (err) => {
      assert.equal(err.name, "JobsApiError", String(err));
      assert.equal(err.status, 400, err.message);
      assert.equal(err.field, w.field, err.message);
      return true;
    });
});
