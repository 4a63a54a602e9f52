/**
 * Find the frame logs of tests in an Allure results folder: every `*-result.json` whose test name
 * (or full name) matches a regular expression, its `frame-log.jsonl` attachments (at the top level
 * or inside steps) copied out under readable names (`<test title>[ (retry n)].frame-log.jsonl`).
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { FrameLogError } from '../errors.js';

interface AllureAttachment {
  name?: string;
  source?: string;
}
interface AllureStep {
  attachments?: AllureAttachment[];
  steps?: AllureStep[];
}
interface AllureResult extends AllureStep {
  name?: string;
  fullName?: string;
  status?: string;
  start?: number;
}

export interface FoundFrameLog {
  test: string;
  status: string;
  /** The copied file. */
  file: string;
  /** The attachment in the results folder. */
  source: string;
}

function attachmentsOf(s: AllureStep, name: string): AllureAttachment[] {
  return [...(s.attachments ?? []).filter((a) => a.name === name && a.source), ...(s.steps ?? []).flatMap((c) => attachmentsOf(c, name))];
}

/** A file name from a test title: letters, digits and a few separators kept. */
export const readableName = (title: string): string => title.replace(/[^\w.@()+=, -]+/g, '_').replace(/\s+/g, ' ').trim().slice(0, 150) || 'test';

export function findFrameLogs(pattern: string, resultsDir: string, outDir: string, attachment = 'frame-log.jsonl'): FoundFrameLog[] {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (e) {
    throw new FrameLogError(`find: ${JSON.stringify(pattern)} is not a regular expression: ${(e as Error).message}`, 'TH_FRAMELOG');
  }
  if (!existsSync(resultsDir)) throw new FrameLogError(`find: no Allure results folder at ${resultsDir} (set --results)`, 'TH_FRAMELOG');
  const found: FoundFrameLog[] = [];
  const used = new Map<string, number>();
  const files = readdirSync(resultsDir).filter((f) => f.endsWith('-result.json')).sort();
  for (const f of files) {
    let r: AllureResult;
    try {
      r = JSON.parse(readFileSync(path.join(resultsDir, f), 'utf8')) as AllureResult;
    } catch {
      continue; // a results file being written; not ours to judge
    }
    const title = r.name ?? '';
    if (!re.test(title) && !re.test(r.fullName ?? '')) continue;
    for (const a of attachmentsOf(r, attachment)) {
      const src = path.join(resultsDir, a.source!);
      if (!existsSync(src)) continue;
      mkdirSync(outDir, { recursive: true });
      const base = readableName(title);
      const n = (used.get(base) ?? 0) + 1;
      used.set(base, n);
      const file = path.join(outDir, `${base}${n > 1 ? ` (${n})` : ''}.${attachment}`);
      copyFileSync(src, file);
      found.push({ test: r.fullName ?? title, status: r.status ?? 'unknown', file, source: src });
    }
  }
  return found;
}
