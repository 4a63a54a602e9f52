/**
 * Configuration: every problem of a bad set in one message (values named, secrets never shown),
 * dotenv lines that are not NAME=value, rig URLs checked at configuration time, files and programs
 * checked before the first test, and the parsed target / transport / polling options.
 */
import 'reflect-metadata';
import { execFile } from 'node:child_process';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { test, expect } from '@playwright/test';
import { ENV_SPEC, envExample, resolveConfig } from '../config/env.js';
import { splitShellWords } from '../config/command-line.js';
import { PROJECT_ROOT } from '../paths.js';
import { dockerEngine } from '../targets/docker-engine.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);
let dir: string;
test.beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'h3-config-'));
});
test.afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** resolveConfig's error message for this environment and project folder (undefined when valid). */
function problemsOf(env: NodeJS.ProcessEnv, folder = dir): string | undefined {
  try {
    resolveConfig(env, folder);
    return undefined;
  } catch (e) {
    expect((e as { code?: string }).code).toBe('TH_CONFIG');
    return (e as Error).message;
  }
}

test('a bad set fails with one message naming every bad variable and its value', () => {
  const message = problemsOf({
    TROPIC_TARGET: 'rig',
    TROPIC_RIG: 'tcp://rig-1:99999',
    TROPIC_PAIRING_SLOT: '7',
    TROPIC_LEASE_STORE: 'redis://cache',
    TROPIC_RIG_LABELS: 'board=a,,x',
    TROPIC_TEST_TIMEOUT_MS: 'soon',
    TROPIC_RECORD_SECRETS: 'yes',
    TROPIC_MODEL_CONFIG: 'no-such-model.yml',
  });
  expect(message).toMatch(/invalid tropic-harness configuration \(7 problems\)/);
  expect(message).toContain('TROPIC_RIG="tcp://rig-1:99999"');
  expect(message).toContain('port 99999, outside 1..65535');
  expect(message).toContain('TROPIC_PAIRING_SLOT="7"');
  expect(message).toContain('TROPIC_LEASE_STORE="redis://cache"');
  expect(message).toContain('TROPIC_RIG_LABELS="board=a,,x"');
  expect(message).toContain('TROPIC_TEST_TIMEOUT_MS="soon"');
  expect(message).toContain('TROPIC_RECORD_SECRETS="yes"');
  expect(message).toContain(`TROPIC_MODEL_CONFIG="no-such-model.yml": no such file ${path.join(dir, 'no-such-model.yml')}`);
  expect(message).not.toMatch(/\n\s+at /); // no stack trace in the message
});

test('a .env line without "=" is an error naming the file and the line', () => {
  writeFileSync(path.join(dir, '.env'), '# comment\n\nTROPIC_POLL_DELAY_MS=5\nTROPIC_TARGET rig\nMULTI="a\nb"\n');
  writeFileSync(path.join(dir, '.env.local'), 'TROPIC_PAIRING_KEY 00112233\n');
  const message = problemsOf({});
  expect(message).toContain('.env line 4: "TROPIC_TARGET rig" is not NAME=value');
  // A secret's line is named, not shown.
  expect(message).toContain('.env.local line 1: "TROPIC_PAIRING_KEY …"');
  expect(message).not.toContain('00112233');
  writeFileSync(path.join(dir, '.env'), 'TROPIC_POLL_DELAY_MS=5\nMULTI="a\nb c"\n');
  rmSync(path.join(dir, '.env.local'));
  expect(resolveConfig({}, dir).TROPIC_POLL_DELAY_MS).toBe(5);
});

test('rig URLs: tcp and tls, IPv6 literals, parsed once into the target', () => {
  const v6 = resolveConfig({ TROPIC_TARGET: 'rig', TROPIC_RIG: 'tcp://[::1]:28992' }, dir);
  expect(v6.target).toEqual({ kind: 'rig', url: 'tcp://[::1]:28992', scheme: 'tcp', host: '::1', port: 28992, name: undefined, tls: undefined });
  expect(v6.transportOptions.tls).toBeUndefined();
  expect(problemsOf({ TROPIC_TARGET: 'rig' })).toContain('TROPIC_RIG="(unset)": required when TROPIC_TARGET=rig');
  expect(problemsOf({ TROPIC_TARGET: 'rig', TROPIC_RIG: 'tcp://::1:28992' })).toContain('IPv6 address without brackets');
  expect(problemsOf({ TROPIC_TARGET: 'rig', TROPIC_RIG: 'http://rig:80' })).toContain('has scheme "http"');
  expect(problemsOf({ TROPIC_TARGET: 'rig', TROPIC_RIG: 'tcp://rig:0' })).toContain('port 0, outside 1..65535');
});

test('a tls:// rig: certificate files checked and read once; the key is never enumerable or printed', async () => {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=h3', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000), keys, signingAlgorithm: alg });
  const keyPem = x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
  writeFileSync(path.join(dir, 'ca.pem'), cert.toString('pem'));
  writeFileSync(path.join(dir, 'client.pem'), cert.toString('pem'));
  writeFileSync(path.join(dir, 'client.key'), keyPem);
  writeFileSync(path.join(dir, 'broken.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
  const env = { TROPIC_TARGET: 'rig', TROPIC_RIG: 'tls://127.0.0.1:9443', TROPIC_TLS_CA: 'ca.pem', TROPIC_TLS_CERT: 'client.pem', TROPIC_TLS_KEY: 'client.key' };
  const cfg = resolveConfig(env, dir);
  expect(cfg.target).toMatchObject({ kind: 'rig', scheme: 'tls', host: '127.0.0.1', port: 9443, tls: { ca: path.join(dir, 'ca.pem'), key: path.join(dir, 'client.key') } });
  expect(String(cfg.transportOptions.tls?.ca)).toBe(cert.toString('pem'));
  expect(String(cfg.transportOptions.tls?.key)).toBe(keyPem);
  expect(Object.keys(cfg.transportOptions.tls ?? {})).toEqual(['ca', 'cert']);
  const keyBody = keyPem.split('\n')[1];
  expect(JSON.stringify(cfg)).not.toContain(keyBody);

  const bad = problemsOf({ ...env, TROPIC_TLS_CA: 'broken.pem', TROPIC_TLS_KEY: 'ca.pem' });
  expect(bad).toContain('TROPIC_TLS_CA="broken.pem"');
  expect(bad).toContain('does not parse as a PEM certificate');
  expect(bad).toContain('TROPIC_TLS_KEY="ca.pem"');
  expect(bad).toContain('does not parse as a PEM private key');
  expect(problemsOf({ ...env, TROPIC_RIG: 'tcp://127.0.0.1:9443' })).toContain('TLS material is used only with tls://');
});

test('files and programs are checked before the first test, contents never shown', () => {
  const secretHex = 'ab'.repeat(32);
  writeFileSync(path.join(dir, 'not-a-key.pem'), `-----BEGIN PRIVATE KEY-----\n${Buffer.from(secretHex, 'hex').toString('base64')}\n-----END PRIVATE KEY-----\n`);
  writeFileSync(path.join(dir, 'a-file'), 'x');
  const message = problemsOf({
    TROPIC_TARGET: 'tvl-process',
    TVL_COMMAND: 'no-such-model-server-h3 tcp',
    TROPIC_PAIRING_KEY: 'not-a-key.pem',
    TROPIC_ALLURE_RESULTS: 'a-file/allure-results',
    TROPIC_TRUST_ROOT: 'missing-root.pem',
    TROPIC_RIGS: 'rigs.yaml',
  });
  expect(message).toContain('TVL_COMMAND="no-such-model-server-h3 tcp": program "no-such-model-server-h3" is not on PATH');
  expect(message).toContain('TROPIC_PAIRING_KEY="not-a-key.pem"');
  expect(message).toContain(`TROPIC_ALLURE_RESULTS="a-file/allure-results": ${path.join(dir, 'a-file')} is a file, not a folder`);
  expect(message).toContain('TROPIC_TRUST_ROOT="missing-root.pem": no such file');
  expect(message).toContain('TROPIC_RIGS="rigs.yaml": no such file');
  expect(message).not.toContain(Buffer.from(secretHex, 'hex').toString('base64'));
  expect(problemsOf({ TROPIC_TARGET: 'tvl-process', TVL_COMMAND: './bin/model_server tcp' })).toContain(`program ${path.join(dir, 'bin', 'model_server')} does not exist or is not executable`);
});

test('tvl-process: the command is split once into argv and variables, without a shell', () => {
  const cfg = resolveConfig({ TROPIC_TARGET: 'tvl-process', TVL_COMMAND: `PYTHONUNBUFFERED=1 "${process.execPath}" 'dist/harness/cli/model-server.js' tcp`, TVL_PORT_BASE: '30000' }, dir);
  expect(cfg.target).toMatchObject({ kind: 'tvl-process', argv: [process.execPath, 'dist/harness/cli/model-server.js', 'tcp'], env: { PYTHONUNBUFFERED: '1' }, portBase: 30000 });
  expect(cfg.pollOptions).toEqual({ pollDelayMs: 0, responseTimeoutMs: 10_000 });
  expect(cfg.transportOptions).toEqual({ connectTimeoutMs: 2000, ioTimeoutMs: 5000, reconnect: false }); // pipeline unset: the target decides
  expect(splitShellWords(`a "b c" 'd e' f\\ g "h\\"i"`, 'X')).toEqual(['a', 'b c', 'd e', 'f g', 'h"i']);
  expect(problemsOf({ TROPIC_TARGET: 'tvl-process', TVL_COMMAND: 'model_server tcp | tee log' })).toContain('uses the shell operator "|"');
  expect(problemsOf({ TROPIC_TARGET: 'tvl-process', TVL_COMMAND: "model_server 'tcp" })).toContain("unclosed ' quote");
  expect(problemsOf({ TROPIC_TARGET: 'tvl-process' })).toContain('TVL_COMMAND="(unset)": required when TROPIC_TARGET=tvl-process');
});

test('.env.example documents every variable, and the committed one is current', () => {
  const example = envExample();
  for (const key of Object.keys(ENV_SPEC)) expect(example).toContain(`\n${key}=`);
  for (const key of ['TROPIC_TEST_TIMEOUT_MS', 'TVL_VERSION', 'TROPIC_SEED', 'TROPIC_RECORD_SECRETS', 'TROPIC_RIGS', 'TROPIC_RIG_LABELS', 'TROPIC_LEASE_STORE', 'TROPIC_LEASE_TTL_MS', 'TROPIC_TRUST_ROOT', 'TROPIC_TLS_CA', 'TROPIC_TLS_CERT', 'TROPIC_TLS_KEY', 'TROPIC_CONTAINER_SPECS', 'TROPIC_EXPLORE_RUNS']) expect(Object.keys(ENV_SPEC)).toContain(key);
  expect(readFileSync(path.join(PROJECT_ROOT, '.env.example'), 'utf8')).toBe(example);
});

test('`tropic-harness config` on a bad set: exit 1, every problem listed, no stack trace', async () => {
  const cli = path.join(PROJECT_ROOT, 'dist', 'harness', 'cli', 'main.js');
  writeFileSync(path.join(dir, '.env'), 'TROPIC_TARGET rig\n');
  const run = promisify(execFile)(process.execPath, [cli, 'config'], { cwd: dir, env: { PATH: process.env.PATH, TROPIC_RIG: 'tcp://h:99999', TROPIC_PAIRING_SLOT: '9' } });
  const failed = await run.then(
    () => undefined,
    (e: { code: number; stderr: string }) => e,
  );
  expect(failed?.code).toBe(1);
  expect(failed?.stderr).toContain('.env line 1: "TROPIC_TARGET rig" is not NAME=value');
  expect(failed?.stderr).toContain('TROPIC_RIG="tcp://h:99999"');
  expect(failed?.stderr).toContain('TROPIC_PAIRING_SLOT="9"');
  expect(failed?.stderr).not.toMatch(/\n\s+at /);
});

test("DOCKER_HOST naming the private engine (.ci/docker-engine) also gets that engine's testcontainers settings; another engine does not", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'engine-env-'));
  try {
    const file = path.join(dir, 'engine.env');
    writeFileSync(file, 'DOCKER_HOST=unix:///run/private.sock\nTESTCONTAINERS_HOST_OVERRIDE=127.0.0.1\nTESTCONTAINERS_RYUK_DISABLED=true\n');
    const same = dockerEngine({ DOCKER_HOST: 'unix:///run/private.sock' }, {}, file);
    expect(same.source).toBe('DOCKER_HOST');
    expect(same.vars).toMatchObject({ DOCKER_HOST: 'unix:///run/private.sock', TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1' });
    const other = dockerEngine({ DOCKER_HOST: 'unix:///var/run/docker.sock' }, {}, file);
    expect(other.vars.DOCKER_HOST).toBe('unix:///var/run/docker.sock');
    expect(other.vars.TESTCONTAINERS_HOST_OVERRIDE).toBeUndefined();
    // the environment still wins over the file
    const overridden = dockerEngine({ DOCKER_HOST: 'unix:///run/private.sock' }, { TESTCONTAINERS_HOST_OVERRIDE: '10.0.0.2' }, file);
    expect(overridden.vars.TESTCONTAINERS_HOST_OVERRIDE).toBe('10.0.0.2');
    const unset = dockerEngine({}, {}, file);
    expect(unset).toMatchObject({ source: 'private engine (.ci/docker-engine)', dockerHost: 'unix:///run/private.sock' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
