/**
 * What a difference leaves behind: the minimal sequence replayed once more on the target with a
 * frame recorder (the frame log, an exploration log: harness/explore/frame-log.ts, and its decoded
 * trace), the regression spec the frame-log codegen makes from that log, and the sequence with both
 * sides' observations as JSON. Printed decoded for the console.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeFrameLog } from '../framelog/decode.js';
import { FrameRecorder, parseFrameLog } from '../framelog/frame-log.js';
import { generateSpecFromLog, importRoot } from '../framelog/codegen.js';
import { packageVersion } from '../paths.js';
import { describeObservation } from './compare.js';
import type { FoundDifference } from './engine.js';
import { EXPLORE_HEADER_KEY, stepStartArgs, type ExplorationHeader } from './frame-log.js';
import { replaySteps } from './replay.js';
import type { Side } from './sides.js';
import { describeStep } from './steps.js';

/** Where the difference was found (both sides' labels, the seed, what was compared). */
export interface DifferenceMeta {
  reference: string;
  target: string;
  seed: number;
  compareContent: boolean;
}

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

/** A title for the difference's spec: the differing step, what the target answered, what the reference did. */
export function differenceTitle(d: FoundDifference): string {
  return `${describeStep(d.steps.at(-1)!)}: ${d.kind} ${d.difference.target} where the reference answers ${d.difference.reference}`;
}

/** Record the minimal sequence on the target and write the difference's files as `<dir>/<name>.*`. */
export async function writeDifference(
  d: FoundDifference,
  target: Side,
  o: { dir: string; name: string; specDir?: string; meta: DifferenceMeta; pairingKey: Uint8Array; pairingSlot: number; irreversibleAllowed: boolean },
): Promise<DifferenceFiles> {
  mkdirSync(o.dir, { recursive: true });
  const base = path.join(o.dir, o.name);
  const explore: ExplorationHeader = {
    seed: d.seed, ...(d.path ? { path: d.path } : {}), reference: o.meta.reference, target: o.meta.target, compareContent: o.meta.compareContent,
    signature: d.signature, difference: d.difference, originalLength: d.originalLength,
  };
  const title = differenceTitle(d);
  const recorder = new FrameRecorder(undefined, {
    header: { harness: { version: packageVersion() }, target: { kind: 'explore', address: target.label }, test: title, seeds: { run: String(d.seed) }, [EXPLORE_HEADER_KEY]: explore },
  });
  const previous = target.transport.onExchange;
  await target.fresh();
  target.transport.onExchange = (r) => recorder.record(r);
  try {
    await replaySteps(target.transport, d.steps, {
      pairingKey: o.pairingKey, pairingSlot: o.pairingSlot, compareContent: o.meta.compareContent, irreversibleAllowed: o.irreversibleAllowed, poll: target.poll,
      annotate: recorder.annotate,
      stepArgs: (i) => stepStartArgs({ step: d.steps[i], reference: d.reference[i], target: d.target[i] }),
    });
  } finally {
    target.transport.onExchange = previous;
  }
  const files: DifferenceFiles = {
    frameLog: `${base}.frame-log.jsonl`,
    decoded: `${base}.decoded.txt`,
    spec: path.join(o.specDir ?? o.dir, `${o.name}.spec.ts`),
    json: `${base}.json`,
  };
  const log = recorder.toJsonl();
  writeFileSync(files.frameLog, log);
  writeFileSync(files.decoded, `${describeDifference(d)}\n\nFrames on the target (${target.label}):\n${decodeFrameLog(recorder.entries)}`);
  // The spec is the frame-log codegen's, from the log as written (what `framelog codegen` makes of it too).
  mkdirSync(path.dirname(files.spec), { recursive: true });
  writeFileSync(files.spec, generateSpecFromLog(parseFrameLog(log, { file: files.frameLog }), { title, sourceLog: path.basename(files.frameLog), root: importRoot(files.spec) }));
  writeFileSync(files.json, JSON.stringify({ ...d, meta: o.meta }, null, 2) + '\n');
  return files;
}
