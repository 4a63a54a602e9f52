/**
 * Target identity for known findings: which implementation a tvl-process command runs, learned from
 * the command (this project's model server), TVL_VERSION, or the installed ts-tvl package as the
 * command's own Python interpreter reports it (a real python3 and a package's metadata folder), or
 * the behaviour probe against the embedded model configured as RISC-V FW 1.x and 2.x.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { test, expect } from '@playwright/test';
import { identifyTvlCommand, isHarnessModelCommand, wheelVersion } from '../targets/implementation.js';
import { packageVersion } from '../paths.js';
import { probeTvlVersion } from '../targets/tvl-version-probe.js';
import { ModelServer } from '../model/server.js';
import { loadModelConfig } from '../model/model-config.js';
import { encodeFwVersion } from '../protocol/chip-id.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { TropicSquare } from '../driver/tropic-square.js';
import { loadPairingKey } from '../config/pairing-key.js';
import { resolveConfig } from '../config/env.js';

let dir: string;
test.beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'h3-implementation-'));
});
test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

test("this project's model server behind TVL_COMMAND is tropic-harness-model, with the package version", () => {
  for (const argv of [[process.execPath, '/x/dist/harness/cli/model-server.js', 'tcp'], ['tropic-model-server', 'tcp'], ['node', 'dist/harness/cli/main.js', 'model', 'serve'], ['/usr/local/bin/tropic-harness', 'model', 'serve']]) {
    expect(isHarnessModelCommand(argv)).toBe(true);
    expect(identifyTvlCommand(argv, {}, '2.2')).toEqual({ name: 'tropic-harness-model', version: packageVersion(), source: "TVL_COMMAND runs this project's model server" });
  }
  expect(isHarnessModelCommand(['model_server', 'tcp'])).toBe(false);
  expect(isHarnessModelCommand(['tropic-harness', 'config'])).toBe(false);
});

test('ts-tvl: TVL_VERSION when declared, else the version its Python interpreter has installed', () => {
  expect(identifyTvlCommand(['model_server', 'tcp'], {}, '2.2')).toEqual({ name: 'ts-tvl', version: '2.2', source: 'TVL_VERSION' });

  let python: string;
  try {
    python = execFileSync('python3', ['-c', 'import sys; print(sys.executable)']).toString().trim();
  } catch {
    test.skip(true, 'no python3 on this machine');
    return;
  }
  // A console script as pip writes it (its interpreter on the #! line), and ts-tvl's metadata on PYTHONPATH.
  const site = path.join(dir, 'site');
  mkdirSync(path.join(site, 'tvl-2.2.7.dist-info'), { recursive: true });
  writeFileSync(path.join(site, 'tvl-2.2.7.dist-info', 'METADATA'), 'Metadata-Version: 2.1\nName: tvl\nVersion: 2.2.7\n');
  const script = path.join(dir, 'model_server');
  writeFileSync(script, `#!${python}\nimport sys\nsys.exit(0)\n`);
  chmodSync(script, 0o755);
  expect(identifyTvlCommand([script, 'tcp'], { PYTHONPATH: site })).toEqual({ name: 'ts-tvl', version: '2.2.7', source: `importlib.metadata via ${python}` });
  // Not installed where the interpreter looks: ts-tvl, version left to the behaviour probe.
  expect(identifyTvlCommand([script, 'tcp'], { PYTHONPATH: path.join(dir, 'empty') })).toEqual({ name: 'ts-tvl', source: 'version unknown (set TVL_VERSION)' });
});

test('a wheel file name carries its ts-tvl version', () => {
  expect(wheelVersion('/w/tvl-2.2-py3-none-any.whl')).toBe('2.2');
  expect(wheelVersion('dist/tvl-2.3.0rc1-py3-none-any.whl')).toBe('2.3.0rc1');
  expect(wheelVersion('/src/ts-tvl')).toBeUndefined();
});

test('the behaviour probe tells ts-tvl < 2.3 (444-byte slots) from >= 2.3 (475) and leaves the chip as it was', async () => {
  const key = loadPairingKey(resolveConfig({}));
  for (const [major, expected] of [
    [2, '>=2.3'],
    [1, '<2.3'],
  ] as const) {
    const server = await new ModelServer({ port: 0, config: { ...loadModelConfig(), riscvFwVersion: encodeFwVersion(major, 0, 0) } }).start();
    const t = await TcpTransport.connect({ host: '127.0.0.1', port: server.port });
    try {
      const found = await probeTvlVersion(t, { pairingSlot: 0, pairingKey: key, resetTarget: true });
      expect(found).toEqual({ name: 'ts-tvl', version: expected, source: expect.stringContaining(expected === '>=2.3' ? 'accepted' : 'refused') });
      // The probe's write is gone: slot 0 reads back empty after its reset.
      const ts = new TropicSquare(t);
      await ts.startSecureSession(0, key);
      await expect(ts.memDataRead(0)).resolves.toHaveLength(0);
    } finally {
      await t.close();
      await server.close();
    }
  }
});
