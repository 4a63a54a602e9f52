/**
 * What a difference leaves behind: the minimal sequence replayed once more on the target with a
 * frame recorder (the frame log, and its decoded trace), the regression spec, and the sequence with
 * both sides' observations as JSON. Printed decoded for the console.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeFrameLog } from '../framelog/decode.js';
import { FrameRecorder } from '../framelog/frame-log.js';
import { packageVersion } from '../paths.js';
import { describeObservation } from './compare.js';
import type { FoundDifference } from './engine.js';
import { replaySteps } from './replay.js';
import type { Side } from './sides.js';
import { generateExploreSpec, type SpecMeta } from './spec-writer.js';
import { describeStep } from './steps.js';

export interface DifferenceFiles {
  frameLog: string;
  decoded: string;
  spec: string;
  json: string;
}

/** The minimal sequence, step by step, with both sides' answers; the differing step marked. */
export function describeDifference(d: FoundDifference): string {
  const out = [`${d.signature} (minimal sequence: ${d.steps.length} of ${d.originalLength} commands, seed ${d.seed})`];
  d.steps.forEach((s, i) => {
    const differs = i === d.steps.length - 1;
    out.push(`  ${differs ? '>>' : '  '} ${i + 1}. ${describeStep(s)}`);
    out.push(`        reference: ${describeObservation(d.reference[i] ?? {})}`);
    if (differs || describeObservation(d.target[i] ?? {}) !== describeObservation(d.reference[i] ?? {})) out.push(`        target:    ${describeObservation(d.target[i] ?? {})}`);
  });
  return out.join('\n');
}

/** Record the minimal sequence on the target and write the difference's files as `<dir>/<name>.*`. */
export async function writeDifference(
  d: FoundDifference,
  target: Side,
  o: { dir: string; name: string; specDir?: string; meta: SpecMeta; pairingKey: Uint8Array; pairingSlot: number; irreversibleAllowed: boolean },
): Promise<DifferenceFiles> {
  mkdirSync(o.dir, { recursive: true });
  const base = path.join(o.dir, o.name);
  const recorder = new FrameRecorder(undefined, { header: { harness: { version: packageVersion() }, target: { kind: 'explore', address: target.label }, test: d.signature, seeds: { run: String(d.seed) } } });
  const previous = target.transport.onExchange;
  await target.fresh();
  target.transport.onExchange = (r) => recorder.record(r);
  try {
    await replaySteps(target.transport, d.steps, { pairingKey: o.pairingKey, pairingSlot: o.pairingSlot, compareContent: o.meta.compareContent, irreversibleAllowed: o.irreversibleAllowed, poll: target.poll, annotate: recorder.annotate });
  } finally {
    target.transport.onExchange = previous;
  }
  const files: DifferenceFiles = {
    frameLog: `${base}.frame-log.jsonl`,
    decoded: `${base}.decoded.txt`,
    spec: path.join(o.specDir ?? o.dir, `${o.name}.spec.ts`),
    json: `${base}.json`,
  };
  writeFileSync(files.frameLog, recorder.toJsonl());
  writeFileSync(files.decoded, `${describeDifference(d)}\n\nFrames on the target (${target.label}):\n${decodeFrameLog(recorder.entries)}`);
  mkdirSync(path.dirname(files.spec), { recursive: true });
  writeFileSync(files.spec, generateExploreSpec(d, o.meta, files.spec));
  writeFileSync(files.json, JSON.stringify({ ...d, meta: o.meta }, null, 2) + '\n');
  return files;
}
