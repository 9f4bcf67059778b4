'use strict';
// W1 probe: the harness's Node client, against one jobd serve --workers 0.
// node w1.js BIN N [set...]   prints GET /healthz and POST /api/jobs rates and server CPU per request.
const http = require('node:http'), fs = require('node:fs'), { spawn } = require('node:child_process');
const [BIN, NS, ...sets] = process.argv.slice(2); const N = +NS;
const DB = process.env.W1_DB || '/tmp/jobd-w1-probe.db';
for (const s of ['', '-wal', '-shm']) fs.rmSync(DB + s, { force: true });
const cpu = (pid) => { const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); return (+f[11] + +f[12]) / 100; };
let agent, port;
function request(method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
      const chunks = []; res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) })); res.on('error', reject); });
    req.on('error', reject); if (data) req.end(data); else req.end();
  });
}
(async () => {
  const child = spawn(BIN, ['serve', '--db', DB, '--workers', '0', '--port', '0', '--bind', '127.0.0.1', ...sets.flatMap((s) => ['--set', s])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let buf = '';
  port = await new Promise((res) => child.stderr.on('data', (d) => { buf += d; const m = /dashboard: http:\/\/[^:]+:(\d+)\//.exec(buf); if (m && /serve started/.test(buf)) res(+m[1]); }));
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < 200; i++) await request('GET', '/healthz');
  const ALL = [['GET /healthz', () => request('GET', '/healthz')], ['404', () => request('GET', '/nope')], ['POST /api/jobs', () => request('POST', '/api/jobs', { type: 'ECHO', payload: { i: 1, t: Date.now() } })]];
  for (const [name, fn] of ALL.filter((x) => !process.env.ONLY || x[0].startsWith(process.env.ONLY))) {
    const c0 = cpu(child.pid), t0 = process.hrtime.bigint(), u0 = process.cpuUsage();
    for (let i = 0; i < N; i++) { const r = await fn(); if (r.status >= 300 && r.status != 404) throw new Error(r.status + ' ' + r.body); }
    const ms = Number(process.hrtime.bigint() - t0) / 1e6, c1 = cpu(child.pid), u = process.cpuUsage(u0);
    console.log(`${name.padEnd(16)} ${(N / ms * 1000).toFixed(0).padStart(7)} req/s  server ${((c1 - c0) / N * 1e6).toFixed(0)} us/req  client ${((u.user + u.system) / N).toFixed(0)} us/req`);
  }
  agent.destroy(); child.kill('SIGTERM');
})();
