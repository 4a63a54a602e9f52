/**
 * Pipelining follows the target: on where the target frames its input (embedded, model-container,
 * this project's model server run as TVL_COMMAND), off for ts-tvl, rigs and unknown servers,
 * TROPIC_PIPELINE=0|1 overrides, reconnect rules it out. Checked on the decision and on the wire:
 * the fixtures' `connect` against a real model server on loopback, counting socket writes per
 * chip-select window (1 pipelined, 3 serial).
 */
import { test, expect } from '@playwright/test';
import { choosePipeline, framesItsInput } from '../transport/pipeline-policy.js';
import { resolveConfig, TARGET_KINDS, type TargetKind } from '../config/env.js';
import { ModelServer } from '../model/server.js';
import { harnessModel } from '../targets/implementation.js';
import type { TargetImplementation } from '../targets/target.js';
import { connect } from '../../fixtures/target.js';

const TS_TVL: TargetImplementation = { name: 'ts-tvl', version: '2.2', source: 'TVL_VERSION' };
const OURS = harnessModel('test');
const UNKNOWN: TargetImplementation = { name: 'unknown', source: 'test' };

test('the target kind and implementation decide: on for targets that frame their input, off for ts-tvl, rigs and unknown servers', () => {
  const cases: [TargetKind, TargetImplementation | undefined, boolean][] = [
    ['embedded', undefined, true],
    ['embedded', OURS, true],
    ['model-container', OURS, true],
    ['tvl-process', OURS, true],
    ['tvl-process', TS_TVL, false],
    ['tvl-process', UNKNOWN, false],
    ['tvl-process', undefined, false],
    ['tvl-container', TS_TVL, false],
    ['tvl-container', undefined, false],
    ['rig', { name: 'tropic01', source: 'test' }, false],
    ['rig', undefined, false],
  ];
  for (const [kind, implementation, expected] of cases) {
    expect(framesItsInput(kind, implementation), `${kind} running ${implementation?.name ?? '(not known yet)'}`).toBe(expected);
    const choice = choosePipeline({ kind, implementation });
    expect(choice.pipeline).toBe(expected);
    expect(choice.reason).toContain(kind);
  }
  // Every kind the configuration accepts has a decision.
  for (const kind of TARGET_KINDS) expect(typeof framesItsInput(kind, undefined)).toBe('boolean');
});

test('TROPIC_PIPELINE overrides the target either way; reconnect without an override turns it off', () => {
  expect(choosePipeline({ configured: false, kind: 'embedded' })).toEqual({ pipeline: false, reason: 'TROPIC_PIPELINE=0' });
  expect(choosePipeline({ configured: true, kind: 'tvl-process', implementation: TS_TVL })).toEqual({ pipeline: true, reason: 'TROPIC_PIPELINE=1' });
  expect(choosePipeline({ reconnect: true, kind: 'embedded' }).pipeline).toBe(false);
  // The configuration leaves the option out when the variable is unset, so the target decides.
  expect(resolveConfig({}).transportOptions.pipeline).toBeUndefined();
  expect(resolveConfig({ TROPIC_PIPELINE: '0' }).transportOptions.pipeline).toBe(false);
  expect(resolveConfig({ TROPIC_PIPELINE: '1' }).transportOptions.pipeline).toBe(true);
});

test('the fixtures connect pipelined to a target that frames its input (one write per chip-select window) and serially otherwise', async () => {
  const server = await new ModelServer({ port: 0, address: '127.0.0.1' }).start();
  try {
    const windowWrites = async (env: NodeJS.ProcessEnv, kind: TargetKind, implementation?: TargetImplementation) => {
      const t = await connect(resolveConfig(env), { host: '127.0.0.1', port: server.port, kind, implementation });
      try {
        const before = t.socketWrites;
        await Promise.all([t.csnLow(), t.transfer(new Uint8Array(4)), t.csnHigh()]);
        return { pipeline: t.options.pipeline, writes: t.socketWrites - before };
      } finally {
        await t.close();
      }
    };
    expect(await windowWrites({}, 'embedded')).toEqual({ pipeline: true, writes: 1 });
    expect(await windowWrites({}, 'model-container', OURS)).toEqual({ pipeline: true, writes: 1 });
    expect(await windowWrites({}, 'tvl-process', OURS)).toEqual({ pipeline: true, writes: 1 });
    expect(await windowWrites({}, 'tvl-process', TS_TVL)).toEqual({ pipeline: false, writes: 3 });
    expect(await windowWrites({}, 'rig')).toEqual({ pipeline: false, writes: 3 });
    expect(await windowWrites({ TROPIC_PIPELINE: '0' }, 'embedded')).toEqual({ pipeline: false, writes: 3 });
    expect(await windowWrites({ TROPIC_PIPELINE: '1' }, 'tvl-process', TS_TVL)).toEqual({ pipeline: true, writes: 1 });
    expect(await windowWrites({ TROPIC_RECONNECT: '1' }, 'embedded')).toEqual({ pipeline: false, writes: 3 });
  } finally {
    await server.close();
  }
});
