/**
 * `tropic-model-server` as ts-tvl's `model_server` command line, run as a real child process the
 * way libtropic's CTest model runner drives it: `dump-logging-cfg`, edit the YAML (handler to a
 * file, levels to DEBUG), `tcp -c … -l …`, talk to it, SIGTERM.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT, DEFAULT_MODEL_CONFIG } from '../paths.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';

const BIN = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'model-server.js');
let dir: string;
test.beforeAll(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'tropic-model-cli-'))));
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('libtropic runner flow: dump-logging-cfg, log to a file at DEBUG, serve, answer, exit 0 on SIGTERM', async () => {
  const dump = spawnSync(process.execPath, [BIN, 'dump-logging-cfg'], { encoding: 'utf8' });
  expect(dump.status).toBe(0);
  const cfg = YAML.parse(dump.stdout) as { handlers: { default: Record<string, string> }; loggers: Record<string, { level: string }>; formatters: { default: { use_colors: boolean } } };
  // The same edits libtropic's model runner makes to ts-tvl's dump.
  const logFile = path.join(dir, 'model_response.log');
  Object.assign(cfg.handlers.default, { class: 'logging.FileHandler', filename: logFile, mode: 'w', encoding: 'utf8' });
  cfg.loggers.model!.level = 'DEBUG';
  cfg.loggers.server!.level = 'DEBUG';
  cfg.formatters.default.use_colors = false;
  const logCfg = path.join(dir, 'log.yml');
  writeFileSync(logCfg, YAML.stringify(cfg));

  const child = spawn(process.execPath, [BIN, 'tcp', '-p', '0', '-c', DEFAULT_MODEL_CONFIG, '-l', logCfg]);
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`model server exited with ${code} before listening`)));
  });
  const t = await TcpTransport.connect({ host: '127.0.0.1', port });
  expect((await new TropicSquare(t).chipId()).serial).toMatch(/^[0-9a-f]{32}$/);
  await t.close();
  const exit = new Promise<number | null>((resolve) => child.on('exit', resolve));
  child.kill('SIGTERM');
  expect(await exit).toBe(0);

  const log = readFileSync(logFile, 'utf8');
  expect(log).toMatch(/INFO {2}model server listening on 127\.0\.0\.1:\d+/);
  expect(log).toMatch(/client 127\.0\.0\.1:\d+ connected/);
  expect(log).toMatch(/ DEBUG /);
  expect(log).toMatch(/SIGTERM received, shutting down/);
});

test('a logging configuration the server cannot honour is refused, naming the key', () => {
  const bad = path.join(dir, 'bad.yml');
  writeFileSync(bad, YAML.stringify({ version: 1, handlers: { default: { class: 'logging.handlers.SysLogHandler' } }, loggers: { model: { level: 'LOUD' } } }));
  const r = spawnSync(process.execPath, [BIN, 'tcp', '-p', '0', '-l', bad], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('handlers.default.class');
  expect(r.stderr).toContain('loggers.model.level');
  const noFile = path.join(dir, 'nofile.yml');
  writeFileSync(noFile, YAML.stringify({ version: 1, handlers: { default: { class: 'logging.FileHandler' } }, loggers: {} }));
  const r2 = spawnSync(process.execPath, [BIN, 'tcp', '-p', '0', '-l', noFile], { encoding: 'utf8', timeout: 20_000 });
  expect(r2.status).toBe(1);
  expect(r2.stderr).toContain('handlers.default.filename is required');
});

test('an unknown --log-level is refused with the value named', () => {
  const r = spawnSync(process.execPath, [BIN, 'tcp', '-p', '0', '--log-level', 'loud'], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('--log-level must be one of debug, info, warn, error, got "loud"');
});

// ---- fail-fast: what cannot work is refused before the server says it listens ------------------

const MAIN = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'main.js');

test('-l naming a FileHandler in a missing folder is refused at start, naming the option and the file', () => {
  const logCfg = path.join(dir, 'missing-folder-log.yml');
  const target = path.join(dir, 'no-such-folder', 'model.log');
  writeFileSync(logCfg, YAML.stringify({ version: 1, handlers: { default: { class: 'logging.FileHandler', filename: target } }, loggers: {} }));
  const r = spawnSync(process.execPath, [MAIN, 'model', 'serve', '-p', '0', '-l', logCfg], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status).toBe(1);
  expect(r.stdout).not.toContain('listening');
  expect(r.stderr).toContain('-l/--logging-configuration');
  expect(r.stderr).toContain(target);
});

test('-o in a missing folder is refused at start, naming the option', () => {
  const r = spawnSync(process.execPath, [MAIN, 'model', 'serve', '-p', '0', '-o', '/nonexistent/dir/out.yaml'], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status).toBe(1);
  expect(r.stdout).not.toContain('listening');
  expect(r.stderr).toContain('-o/--configuration-out /nonexistent/dir/out.yaml');
  expect(r.stderr).toContain('/nonexistent/dir does not exist');
});

test('--idle-timeout must be a non-negative integer', () => {
  const r = spawnSync(process.execPath, [BIN, 'tcp', '-p', '0', '--idle-timeout', 'soon'], { encoding: 'utf8', timeout: 20_000 });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('--idle-timeout must be an integer');
});

test('generate-config without --out refuses to overwrite the shipped default configuration; --out writes elsewhere', () => {
  const before = readFileSync(DEFAULT_MODEL_CONFIG, 'utf8');
  const r = spawnSync(process.execPath, [MAIN, 'model', 'generate-config'], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain('shipped default configuration');
  expect(r.stderr).toContain('--force');
  expect(readFileSync(DEFAULT_MODEL_CONFIG, 'utf8')).toBe(before);
  const out = path.join(dir, 'generated');
  const ok = spawnSync(process.execPath, [MAIN, 'model', 'generate-config', '--out', out], { encoding: 'utf8', timeout: 60_000 });
  expect(ok.status).toBe(0);
  expect(readFileSync(path.join(out, 'tropic01-model.yml'), 'utf8')).toContain('s_t_priv: tropic01-st-private.pem');
});
