'use strict';
const http = require('node:http'), fs = require('node:fs'), { spawn } = require('node:child_process');
const N = +process.argv[2];
const cpu = (pid) => { const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); const f = st.slice(st.lastIndexOf(')') + 2).split(' '); return (+f[11] + +f[12]) / 100; };
const port = 47311; const child = spawn(process.env.FLOOR_SERVER || './floor_server', [String(port)], { stdio: 'inherit' });
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function request(method, p, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
    const req = http.request({ host: '127.0.0.1', port, path: p, method, agent,
      headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
      const chunks = []; res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode })); res.on('error', reject); });
    req.on('error', reject); if (data) req.end(data); else req.end();
  });
}
setTimeout(async () => {
  for (let i = 0; i < 200; i++) await request('POST', '/api/jobs', { type: 'ECHO', payload: { i: 1, t: Date.now() } });
  const c0 = cpu(child.pid), t0 = process.hrtime.bigint(), u0 = process.cpuUsage();
  for (let i = 0; i < N; i++) await request('POST', '/api/jobs', { type: 'ECHO', payload: { i: 1, t: Date.now() } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6, c1 = cpu(child.pid), u = process.cpuUsage(u0);
  console.log(`minimal C server: ${(N / ms * 1000).toFixed(0)} req/s  server ${((c1 - c0) / N * 1e6).toFixed(0)} us/req  client ${((u.user + u.system) / N).toFixed(0)} us/req`);
  agent.destroy(); child.kill();
}, 300);
