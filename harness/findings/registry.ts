/**
 * Known findings: divergences of an implementation from the User API that the suite knows about,
 * each with the implementations and versions it holds for. One registry for specs, replay and
 * exploration: specs assert the documented divergence where a finding holds (and the User API
 * elsewhere); a finding that holds on paper but does not reproduce is reported as such (see
 * fixtures/spec.ts `knownFinding`). Allure shows the registry as known issues
 * (`writeAllureKnownIssues`, `allureResolutions`).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TargetImplementation } from '../targets/target.js';
import { ConfigError } from '../errors.js';

export type ImplementationName = TargetImplementation['name'];

/** Where a finding holds: an implementation and, optionally, a version range (`<2.3`, `>=2.0 <2.3`, `2.2.x`, `*`). */
export interface HoldsFor {
  implementation: ImplementationName;
  versions?: string;
}

export interface KnownFindingDef {
  id: string;
  title: string;
  /** What the User API / datasheet says. */
  documented: string;
  /** What the implementation does instead. */
  observed: string;
  holdsFor: HoldsFor[];
}

export const KNOWN_FINDINGS = [
  {
    id: 'ts-tvl-ignores-req-len',
    title: 'ts-tvl ignores REQ_LEN and takes the frame length from the transfer',
    documented: 'Datasheet 7.3.3: REQ_LEN gives the data length; a REQ_LEN that disagrees with the frame makes the CRC check fail (CRC_ERR)',
    observed: 'the request is executed as if REQ_LEN matched the data sent',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
  {
    id: 'ts-tvl-short-first-l3-chunk',
    title: 'ts-tvl raises an internal error when the first L3 chunk is shorter than 18 bytes',
    documented: 'User API 4.1 Table 9: an L3 packet may be split into chunks of 1-252 bytes',
    observed: 'EXCEPTION (internal error, chip rebuilt) unless SIZE and TAG fit in the first chunk',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
  {
    id: 'ts-tvl-all-zero-ephemeral-key',
    title: 'ts-tvl raises an internal error on an all-zero (low-order) ephemeral key',
    documented: 'Datasheet 7.4 / User API 4.1 Table 8: a handshake that cannot complete answers HSK_ERR',
    observed: 'EXCEPTION (internal error, chip rebuilt) on the all-zero X25519 shared secret',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
  {
    id: 'ts-tvl-cfg-sleep-mode-address',
    title: 'ts-tvl reads CFG_SLEEP_MODE at 0x14 instead of 0x18',
    documented: 'User API 1.4.0 5.2: CFG_SLEEP_MODE is at 0x18; SLEEP_MODE_EN=0 makes Sleep_Req answer RESP_DISABLED',
    observed: 'Sleep_Req answers REQ_OK with CFG_SLEEP_MODE (0x18) disabling sleep',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
  {
    id: 'ts-tvl-get-log-when-disabled',
    title: 'ts-tvl answers Get_Log_Req with REQ_OK although CFG_DEBUG disables FW logging',
    documented: 'User API 4.1 Table 14: with CFG_DEBUG[FW_LOG_EN]=0 Get_Log_Req answers RESP_DISABLED',
    observed: 'REQ_OK',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
  {
    id: 'ts-tvl-r-mem-444-bytes',
    title: 'ts-tvl keeps 444-byte User Data slots whatever the configured RISC-V FW',
    documented: 'User API 1.4.0 Table 24: User Data slots hold 475 bytes on RISC-V FW 2.x (444 on FW 1.x)',
    observed: 'a 475-byte R_Mem_Data_Write answers FAIL',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
  {
    id: 'ts-tvl-short-l2-request',
    title: 'ts-tvl raises an internal error on an L2 request of 1 to 3 bytes',
    documented: 'Datasheet 7.3.3: a request frame is REQ_ID, REQ_LEN, data and a 2-byte CRC; a frame whose CRC cannot be checked is answered CRC_ERR',
    observed: 'the SPI transfer itself is answered with the EXCEPTION tag (internal error, chip rebuilt); no L2 response follows',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
  {
    id: 'ts-tvl-dies-on-connection-reset',
    title: 'ts-tvl exits when a client connection is reset (ECONNRESET)',
    documented: 'libtropic tagged TCP protocol: the server serves one client after another; a client that goes away ends only its own connection',
    observed: 'a client that closes while a reply is in flight draws an RST, and the server process exits with ConnectionResetError; every later client is refused. The harness never resets a target connection (the transport and the chaos proxy close with FIN and drain), so a run on ts-tvl survives its own faults specs',
    holdsFor: [{ implementation: 'ts-tvl', versions: '<2.3' }],
  },
] as const satisfies readonly KnownFindingDef[];

export type FindingId = (typeof KNOWN_FINDINGS)[number]['id'];

export function finding(id: FindingId): KnownFindingDef {
  const f = KNOWN_FINDINGS.find((x) => x.id === id);
  if (!f) throw new ConfigError(`no known finding ${id}`, [], 'TH_FINDING'); // unreachable: FindingId is the registry's ids
  return f;
}

// ---- version ranges ----------------------------------------------------------------------------

const parts = (v: string): number[] => v.split('.').map((x) => Number.parseInt(x, 10) || 0);
function compare(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

/** Does `version` satisfy `range`: space-separated comparators (`<`, `<=`, `>`, `>=`, `=`), `x` wildcards, or `*`. */
export function versionInRange(version: string, range: string): boolean {
  return range
    .trim()
    .split(/\s+/)
    .every((c) => {
      if (c === '*' || c === '') return true;
      const m = /^(<=|>=|<|>|=)?v?([0-9x.]+)$/.exec(c);
      if (!m) throw new ConfigError(`version range ${JSON.stringify(range)}: cannot read ${JSON.stringify(c)}`, [], 'TH_FINDING');
      const [, op = '=', want] = m;
      if (want.includes('x')) {
        const fixed = want.split('.').filter((p) => p !== 'x');
        return parts(version).slice(0, fixed.length).join('.') === fixed.map(Number).join('.');
      }
      const d = compare(version, want);
      return op === '<' ? d < 0 : op === '<=' ? d <= 0 : op === '>' ? d > 0 : op === '>=' ? d >= 0 : d === 0;
    });
}

// ---- matching ----------------------------------------------------------------------------------

/** What answers on a target, `unknown` when the target did not say. */
export function implementationOf(target: { implementation?: TargetImplementation }): TargetImplementation {
  return target.implementation ?? { name: 'unknown', source: 'not reported by the target' };
}

export function describeImplementation(impl: TargetImplementation): string {
  return `${impl.name}${impl.version ? ` ${impl.version}` : ' (version unknown)'}`;
}

export interface FindingMatch {
  holds: boolean;
  /** Why, for annotations: the entry that matched, or that none did. */
  reason: string;
}

/**
 * Does a finding hold for an implementation? An implementation of the right name with an unknown
 * version is taken to have it (the finding is then checked, and reported if it does not reproduce).
 */
export function matchFinding(f: KnownFindingDef, impl: TargetImplementation): FindingMatch {
  for (const h of f.holdsFor) {
    if (h.implementation !== impl.name) continue;
    if (!h.versions || h.versions === '*') return { holds: true, reason: `holds for every ${h.implementation}` };
    if (!impl.version) return { holds: true, reason: `holds for ${h.implementation} ${h.versions}; this target's version is unknown` };
    if (versionInRange(impl.version, h.versions)) return { holds: true, reason: `holds for ${h.implementation} ${h.versions}` };
  }
  return { holds: false, reason: `holds for ${f.holdsFor.map((h) => `${h.implementation} ${h.versions ?? '*'}`).join(', ')}, not ${describeImplementation(impl)}` };
}

export function describeHoldsFor(f: KnownFindingDef): string {
  return f.holdsFor.map((h) => `${h.implementation} ${h.versions ?? '(all versions)'}`).join(', ');
}

// ---- reports -----------------------------------------------------------------------------------

/** Annotation type of a finding that held on paper but did not reproduce; the test is skipped with this reason prefix. */
export const FINDING_NOT_REPRODUCED = 'finding-not-reproduced';
/** Annotation type of a finding that held and was asserted. */
export const KNOWN_FINDING = 'known-finding';

/** Allure 3 issue type of the registry's entries. */
export const ALLURE_ISSUE_TYPE = 'finding';

/**
 * The registry in Allure 3's known-issues file format (`KnownIssuesFile` of @allurereport/core-api:
 * `{ resolutionIssues: [{ id, type, comment, testResults }] }`), with no test results yet.
 */
export function allureKnownIssues(): { resolutionIssues: { id: string; type: string; comment: string; testResults: Record<string, never> }[] } {
  return {
    resolutionIssues: KNOWN_FINDINGS.map((f) => ({
      id: f.id,
      type: ALLURE_ISSUE_TYPE,
      comment: `${f.title}. Holds for ${describeHoldsFor(f)}. Documented: ${f.documented}. Observed: ${f.observed}.`,
      testResults: {},
    })).sort((a, b) => a.id.localeCompare(b.id)),
  };
}

/** Write the registry as Allure 3's known-issues JSON (the path must end in .json, as Allure requires). */
export function writeAllureKnownIssues(file: string): void {
  if (path.extname(file).toLowerCase() !== '.json') throw new ConfigError(`known-issues file ${file}: Allure 3 needs a .json path`, [], 'TH_FINDING');
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, JSON.stringify(allureKnownIssues(), null, 2) + '\n');
}

/**
 * Allure 3 `resolutions` configuration (allurerc): one `issue` rule per finding, matching failed or
 * broken results whose message names the finding (a `finding-not-reproduced` skip names it too),
 * linked through `linkTemplate` (an http(s) URL with one `%s` for the finding id).
 */
export function allureResolutions(linkTemplate: string): {
  links: Record<string, { urlTemplate: string; nameTemplate: string }>;
  rules: { resolution: 'issue'; issue: { id: string; type: string }; messageRegexp: string; comment: string }[];
} {
  return {
    links: { [ALLURE_ISSUE_TYPE]: { urlTemplate: linkTemplate, nameTemplate: 'finding %s' } },
    rules: KNOWN_FINDINGS.map((f) => ({
      resolution: 'issue' as const,
      issue: { id: f.id, type: ALLURE_ISSUE_TYPE },
      messageRegexp: f.id.replace(/[-.]/g, '\\$&'),
      comment: f.title,
    })),
  };
}
