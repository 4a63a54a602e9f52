/**
 * `tropic-harness qualify` end to end: the project's model server (`model serve`, its own process)
 * stands in for a rig listed in a temporary rigs.yaml, leased through a local store. The spec runs
 * are kept to a few specs with --grep. Runs dist/ (`npm run build` first).
 */
import 'reflect-metadata';
import { spawn, type ChildProcess } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as x509 from '@peculiar/x509';
import { test, expect } from '@playwright/test';
import { PROJECT_ROOT, DEFAULT_CONFIG_DIR } from '../paths.js';
import { waitForAnsweredFrame } from '../targets/wait-ready.js';
import { readChipIdentity } from '../rig/qualify/identity.js';
import { LocalLeaseStore } from '../rig/pool/local-store.js';
import { L3_DRIVER_COMMANDS, percentile, stats } from '../rig/qualify/latency.js';
import { irreversibleGrep } from '../rig/qualify/qualify.js';
import type { QualificationRecord } from '../rig/qualify/record.js';
import { freePort } from './transport-loopback.js';

const MAIN = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'main.js');
const COMMANDS = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'rig-pool-commands.js');
const GREP = 'Ping with empty data|invalidating an empty slot';
const IRREVERSIBLE_TITLE = 'invalidating an empty slot answers FAIL';


function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: PROJECT_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ status: code ?? 1, stdout, stderr }));
  });
}

test.describe('qualify against the model server standing in for a rig', () => {
  test.describe.configure({ mode: 'serial', timeout: 300_000 });
  let dir: string;
  let server: ChildProcess;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let script: string;
  let serial: string;

  test.beforeAll(async () => {
    expect(existsSync(MAIN) && existsSync(COMMANDS), 'run `npm run build` first (the model server and qualify run from dist/)').toBe(true);
    dir = mkdtempSync(path.join(os.tmpdir(), 'h5b-qualify-'));
    port = await freePort();
    server = spawn(process.execPath, [MAIN, 'model', 'serve', '--port', String(port), '--log-level', 'warn'], { cwd: PROJECT_ROOT, stdio: 'ignore' });
    await waitForAnsweredFrame('127.0.0.1', port, 30_000);
    serial = (await readChipIdentity(`tcp://127.0.0.1:${port}`)).serial;

    writeFileSync(path.join(dir, 'rigs.yaml'), `rigs:\n  - name: model-1\n    url: tcp://127.0.0.1:${port}\n    labels: { part: model, location: loopback }\n`);
    // The model's root is the last certificate of its chain file.
    const chain = readFileSync(path.join(DEFAULT_CONFIG_DIR, 'certificate-chain.pem'), 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!;
    writeFileSync(path.join(dir, 'model-root.pem'), chain[chain.length - 1] + '\n');
    x509.cryptoProvider.set(webcrypto as unknown as Crypto);
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const other = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=Some Other Root, O=elsewhere', notBefore: new Date('2025-01-01'), notAfter: new Date('2060-01-01'), signingAlgorithm: alg, keys });
    writeFileSync(path.join(dir, 'other-root.pem'), other.toString('pem') + '\n');

    script = path.join(dir, 'qualify-cli.mjs');
    writeFileSync(
      script,
      `const { Command } = await import(${JSON.stringify(pathToFileURL(path.join(PROJECT_ROOT, 'node_modules', 'commander', 'esm.mjs')).href)});\n` +
        `const { registerQualifyCommand } = await import(${JSON.stringify(pathToFileURL(COMMANDS).href)});\n` +
        `const p = new Command('tropic-harness'); registerQualifyCommand(p);\n` +
        `p.parseAsync(process.argv).catch((e) => { process.stderr.write(e.message + '\\n'); process.exit(1); });\n`,
    );
    env = {
      ...process.env,
      TROPIC_RIGS: path.join(dir, 'rigs.yaml'),
      TROPIC_RIG_LABELS: 'part=model',
      TROPIC_LEASE_STORE: 'local',
      TROPIC_LEASE_DIR: path.join(dir, 'leases'),
      TROPIC_LEASE_TTL_MS: '6000',
      TROPIC_LEASE_WAIT_MS: '5000',
      TROPIC_TARGET: 'embedded',
    };
  });

  test.afterAll(() => {
    server?.kill('SIGTERM');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('a qualified chip: record written, chain verified to the model root, irreversible specs run only with the confirmed serial, latency recorded', async () => {
    const out = path.join(dir, 'out-ok');
    const r = await run(process.execPath, [script, 'qualify', '--trust-root', path.join(dir, 'model-root.pem'), '--grep', GREP, '--confirm-serial', serial, '--out', out], {
      ...env,
      TROPIC_ALLOW_IRREVERSIBLE: '1',
    });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`model-1: ${serial} QUALIFIED`);
    const rec = JSON.parse(readFileSync(path.join(out, serial, 'record.json'), 'utf8')) as QualificationRecord;
    expect(rec.verdict).toBe('qualified');
    expect(rec.identity.serial).toBe(serial);
    expect(rec.identity.riscvFw).toMatch(/^\d+\.\d+\.\d+$/);
    expect(rec.identity.chipId.raw).toHaveLength(256);
    expect(rec.certificateChain.ok).toBe(true);
    expect(rec.certificateChain.root).toContain('tropic-harness Root CA');
    expect(rec.certificateChain.certificates.length).toBe(4);
    expect(rec.reversible.passed).toBeGreaterThanOrEqual(1);
    expect(rec.reversible.failed).toBe(0);
    expect(rec.irreversible.ran).toBe(true);
    if (rec.irreversible.ran) expect(rec.irreversible.summary.passed).toBe(1);
    expect(rec.latency.ping.count).toBeGreaterThanOrEqual(1);
    expect(rec.latency.ping.minMs).toBeLessThanOrEqual(rec.latency.ping.medianMs);
    expect(rec.latency.ping.medianMs).toBeLessThanOrEqual(rec.latency.ping.p99Ms);
    expect(readFileSync(path.join(out, serial, 'summary.html'), 'utf8')).toContain(`TROPIC01 ${serial}`);
    // Every result of the chip carries its identity; the environment too.
    const results = readdirSync(rec.allureResults).filter((f) => f.endsWith('-result.json'));
    expect(results.length).toBeGreaterThanOrEqual(2);
    for (const f of results) {
      const labels = (JSON.parse(readFileSync(path.join(rec.allureResults, f), 'utf8')) as { labels: { name: string; value: string }[] }).labels;
      expect(labels).toContainEqual({ name: 'chip_serial', value: serial });
      expect(labels).toContainEqual({ name: 'rig', value: 'model-1' });
    }
    expect(readFileSync(path.join(rec.allureResults, 'environment.properties'), 'utf8')).toContain(`chip_serial=${serial}`);
    expect(await new LocalLeaseStore(env.TROPIC_LEASE_DIR!).list()).toEqual([]);
  });

  test('a wrong trust root fails verification with a clear message; an unconfirmed serial refuses the irreversible specs, naming them', async () => {
    const out = path.join(dir, 'out-bad');
    const r = await run(process.execPath, [script, 'qualify', '--trust-root', path.join(dir, 'other-root.pem'), '--grep', GREP, '--confirm-serial', 'deadbeef', '--out', out], {
      ...env,
      TROPIC_ALLOW_IRREVERSIBLE: '1',
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`model-1: ${serial} FAILED`);
    expect(r.stderr).toContain('certificate chain NOT verified');
    const rec = JSON.parse(readFileSync(path.join(out, serial, 'record.json'), 'utf8')) as QualificationRecord;
    expect(rec.verdict).toBe('failed');
    expect(rec.certificateChain.ok).toBe(false);
    const problem = rec.certificateChain.problems.join('\n');
    expect(problem).toContain('tropic-harness Root CA');
    expect(problem).toContain('neither a trusted root nor signed by one');
    expect(problem).toContain('Some Other Root');
    expect(rec.reasons[0]).toContain('certificate chain not verified');
    expect(rec.irreversible.ran).toBe(false);
    if (!rec.irreversible.ran) {
      expect(rec.irreversible.why).toContain(`--confirm-serial deadbeef does not match this chip's serial ${serial}`);
      expect(rec.irreversible.refusedSpecs.some((t) => t.includes(IRREVERSIBLE_TITLE))).toBe(true);
      expect(rec.irreversible.refusedSpecs.some((t) => t.includes('Ping'))).toBe(false);
    }
    expect(r.stderr).toContain(IRREVERSIBLE_TITLE);
    expect(rec.reversible.failed).toBe(0);
  });
});

test('latency figures: nearest-rank p99 and the median of an even count', () => {
  const s = stats([5, 1, 3, 2]);
  expect(s).toEqual({ count: 4, minMs: 1, medianMs: 2.5, p99Ms: 5, maxMs: 5 });
  expect(percentile(Array.from({ length: 200 }, (_, i) => i + 1), 99)).toBe(198);
});

test("the latency table knows every L3 command of the driver", () => {
  const source = readFileSync(path.join(PROJECT_ROOT, 'harness', 'driver', 'tropic-square.ts'), 'utf8');
  const inDriver = [...source.matchAll(/this\.command\('(\w+)'/g)].map((m) => m[1]).sort();
  expect([...L3_DRIVER_COMMANDS].sort()).toEqual(inDriver);
});

test('the irreversible grep selects only @irreversible specs within the user grep', () => {
  const re = new RegExp(irreversibleGrep('Ping|invalidating'));
  expect(re.test('specs/l3.spec.ts pairing keys invalidating an empty slot answers FAIL @irreversible')).toBe(true);
  expect(re.test('specs/l1.spec.ts Ping with empty data returns empty data @reversible')).toBe(false);
  expect(re.test('specs/config.spec.ts I_Config_Write clears one bit @irreversible')).toBe(false);
});
