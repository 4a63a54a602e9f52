/**
 * A difference as a Playwright regression spec: the minimal sequence as data, what the reference
 * answered to each step as the expectation, replayed on the test's target through the same runner
 * exploration used. The spec passes where the target answers as the reference did and fails, at
 * the first differing step, where it does not. Tagged `@reversible` unless a step is irreversible.
 */
import path from 'node:path';
import { classifyL3 } from '../driver/operations.js';
import { PACKAGE_ROOT } from '../paths.js';
import type { Observation } from './execute.js';
import type { FoundDifference } from './engine.js';
import { describeStep, type Step } from './steps.js';

export interface SpecMeta {
  reference: string;
  target: string;
  seed: number;
  compareContent: boolean;
}

/** An import specifier from `specFile` to a project module (posix separators, `./` when needed). */
function importFrom(specFile: string, projectModule: string): string {
  let rel = path.relative(path.dirname(path.resolve(specFile)), path.join(PACKAGE_ROOT, projectModule)).split(path.sep).join('/');
  if (!rel.startsWith('.')) rel = `./${rel}`;
  return rel;
}

export function isIrreversible(steps: Step[]): boolean {
  return steps.some((s) => s.kind === 'l3' && classifyL3(Buffer.from(s.plain, 'hex'), { sessionSlot: 0 }).effect === 'irreversible');
}

export function generateExploreSpec(d: FoundDifference, meta: SpecMeta, specFile: string): string {
  const last = d.steps.at(-1)!;
  const title = `${describeStep(last)}: ${d.kind} ${d.difference.target} where the reference answers ${d.difference.reference}`;
  const kind = isIrreversible(d.steps) ? 'irreversible' : 'reversible';
  const lines = (xs: unknown[]): string => xs.map((x) => `  ${JSON.stringify(x)},`).join('\n');
  const expected: Observation[] = d.reference;
  return `/**
 * Regression spec written by \`tropic-harness explore\` (differential exploration).
 * Reference: ${meta.reference}; target: ${meta.target}; seed ${meta.seed}.
 * Minimal sequence (${d.steps.length} of ${d.originalLength} commands):
${d.steps.map((s, i) => ` *   ${i + 1}. ${describeStep(s)}`).join('\n')}
 * The expectation is what the reference answered to each step; the last step is where the target
 * differed (${d.kind}: reference ${d.difference.reference}, target ${d.difference.target}).
 */
import { test, expect, spec } from '${importFrom(specFile, 'fixtures/index.js')}';
import { replaySteps, describeStep, type Observation, type Step } from '${importFrom(specFile, 'harness/explore/index.js')}';

const STEPS: Step[] = [
${lines(d.steps)}
];

const EXPECTED: Observation[] = [
${lines(expected)}
];

test(${JSON.stringify(title)}, spec('Differential exploration against ${meta.reference.replace(/'/g, '')} (User API v1.4.0 4.1-4.2)', '${kind}', ['@explore-regression']), async ({ transport, target, pairingKey, harnessConfig }) => {
  const observed = await replaySteps(transport, STEPS, {
    pairingKey,
    pairingSlot: harnessConfig.TROPIC_PAIRING_SLOT,
    compareContent: ${meta.compareContent},
    irreversibleAllowed: target.resetMode !== 'none' || target.allowIrreversible,
    restore: target.resetMode === 'none',
    poll: { pollDelayMs: harnessConfig.TROPIC_POLL_DELAY_MS, responseTimeoutMs: harnessConfig.TROPIC_RESPONSE_TIMEOUT_MS },
  });
  for (const [i, step] of STEPS.entries()) expect(observed[i], \`step \${i + 1}: \${describeStep(step)}\`).toEqual(EXPECTED[i]);
});
`;
}
