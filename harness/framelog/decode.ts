/**
 * Frame-log decoder. By default one line per L2 request and response (chip-select windows folded,
 * NO_RESP polls counted, the certificate-store reads folded into one line), with the L3 commands
 * and results from the driver's annotations and the step that issued each line; `l1` adds every
 * tagged message. Exchanges that failed, and steps that ended in an error, are marked `>>`.
 * A log that recorded its sessions' keys (TROPIC_RECORD_SECRETS=1) also gets L3 command names and
 * result codes for encrypted exchanges no annotation describes (l3-decrypt.ts); the keys are never shown.
 */
import { TAG, tagName } from '../protocol/tagged-frame.js';
import { GET_INFO_OBJECT, L2_REQ, L2_STATUS } from '../protocol/l2.js';
import { entryBytes, type FrameLogAnnotation, type FrameLogEntry } from './frame-log.js';
import { chipStatusText, responseData, short, summarizeWindow, type L2Summary } from './l2-window.js';
import { L3Decryptor, NONCE_LOOKAHEAD, type DecryptedL3 } from './l3-decrypt.js';

export interface DecodedLine {
  seq: number;
  layer: 'l1' | 'l2' | 'l3' | 'step' | 'target';
  text: string;
  step?: string;
  failed?: boolean;
  /** The tagged messages of this line's chip-select window (for collapsible views). */
  l1?: string[];
  /** Lines of one kind that fold together (certificate-store reads). */
  group?: string;
}

export interface DecodeOptions {
  /** Every tagged message on its own line, as well. */
  l1?: boolean;
  annotations?: FrameLogAnnotation[];
  /** Mark this exchange as the failing one. */
  failSeq?: number;
}

const argsText = (args: Record<string, unknown> | undefined): string =>
  Object.entries(args ?? {}).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(' ');

function l1Line(e: FrameLogEntry): string {
  const b = entryBytes(e);
  const reply = e.err ? ` !! ${e.err}` : e.rtag !== undefined && e.rtag !== e.tag ? ` -> ${tagName(e.rtag)}` : '';
  const body = e.tag === TAG.SPI_SEND ? ` tx=${short(b.tx)} rx=${b.rx ? short(b.rx) : '-'}` : e.tx ? ` payload=${short(b.tx)}` : '';
  return `${tagName(e.tag)}${body}${reply}`;
}

function l2Text(s: L2Summary, rx: Uint8Array, polls: number): string {
  switch (s.kind) {
    case 'request':
      return `L2 request ${s.name}${s.detail ? ` (${s.detail})` : ''} len=${s.len} crc=${s.crc ? 'ok' : 'BAD'}`;
    case 'response': {
      const waited = polls ? ` after ${polls} poll${polls > 1 ? 's' : ''} without a response` : '';
      return `L2 response ${s.name} len=${s.len} crc=${s.crc ? 'ok' : 'BAD'} data=${short(responseData(rx))} (CHIP_STATUS ${s.chipStatus})${waited}`;
    }
    case 'poll':
      return `Get_Response poll: CHIP_STATUS ${s.chipStatus}${s.noResp ? ', NO_RESP' : ''}`;
    default:
      return 'empty chip-select window';
  }
}

/** Decoded lines, in order (see the module comment). */
export function decodeLines(entries: FrameLogEntry[], opts: DecodeOptions = {}): DecodedLine[] {
  const out: DecodedLine[] = [];
  const anns = opts.annotations ?? [];
  let a = 0;
  let win: { tx: Uint8Array[]; rx: Uint8Array[]; l1: string[]; failed: boolean } | undefined;
  let polls = 0;
  let lastRequest: L2Summary | undefined;
  let lastRequestData: Uint8Array | undefined;

  const steps: string[] = [];
  // Recorded session keys: decrypt the L3 packets that no l3-command annotation describes.
  let decryptor: L3Decryptor | undefined;
  let annotatedCommands = 0;
  let lastCommandAnnotated = false;
  const flushAnnotations = (upTo: number): void => {
    for (; a < anns.length && anns[a].seq <= upTo; a++) {
      const an = anns[a];
      if (an.kind === 'step-start') steps.push(an.step);
      if (an.kind === 'step-end') steps.pop();
      // Every command an outermost step announced has been sent (or refused) when it ends.
      if (an.kind === 'step-end' && steps.length === 0) annotatedCommands = 0;
      if (an.kind === 'l3-command') annotatedCommands++;
      if (an.kind === 'session-keys') {
        decryptor = new L3Decryptor(an);
        annotatedCommands = 0;
        out.push({ seq: an.seq, layer: 'l3', text: `L3 session keys recorded (pairing slot ${an.slot}): L3 without driver annotations is decrypted` });
        continue;
      }
      // A nested step's error that its outer step handled (e.g. a restore check reading an empty
      // slot) is shown, but is not the failure: only an outermost step's error is marked.
      if (an.kind === 'step-end' && an.error && steps.length > 0) {
        out.push({ seq: an.seq, layer: 'step', text: `step ${an.step} answered an error (handled by ${steps.join(' > ')}): ${an.error}` });
        continue;
      }
      if (an.kind === 'l3-command') out.push({ seq: an.seq, layer: 'l3', text: `L3 command ${an.command} ${argsText(an.args)}`.trimEnd() });
      else if (an.kind === 'l3-result') out.push({ seq: an.seq, layer: 'l3', text: `L3 result ${an.resultName} (0x${an.result.toString(16).padStart(2, '0')}) of ${an.command}, ${an.length} data bytes` });
      else if (an.kind === 'step-end' && an.error) out.push({ seq: an.seq, layer: 'step', text: `step ${an.step} failed: ${an.error}`, failed: true });
      else if (an.kind === 'step-start' && opts.l1) out.push({ seq: an.seq, layer: 'step', text: `step ${an.step}(${argsText(an.args)})` });
    }
  };

  for (const e of entries) {
    flushAnnotations(e.seq);
    const failed = !!e.err || e.seq === opts.failSeq;
    const l1 = l1Line(e);
    if (opts.l1) out.push({ seq: e.seq, layer: 'l1', text: l1, step: e.step, failed });
    if (e.tag === TAG.CSN_LOW) {
      win = { tx: [], rx: [], l1: [l1], failed };
      continue;
    }
    if (e.tag === TAG.SPI_SEND && win) {
      const b = entryBytes(e);
      win.tx.push(b.tx);
      win.rx.push(b.rx ?? new Uint8Array(0));
      win.l1.push(l1);
      win.failed ||= failed;
      continue;
    }
    if (e.tag === TAG.CSN_HIGH && win) {
      win.l1.push(l1);
      const tx = Buffer.concat(win.tx);
      const rx = Buffer.concat(win.rx);
      const s = e.l2 ?? summarizeWindow(tx, rx);
      const isFailed = win.failed || failed;
      if (s.kind === 'poll' && !isFailed) {
        polls++;
        win = undefined;
        continue;
      }
      const certRead = (s.kind === 'request' && s.id === L2_REQ.GET_INFO && tx[2] === GET_INFO_OBJECT.X509_CERTIFICATE) ||
        (s.kind === 'response' && lastRequest?.kind === 'request' && lastRequest.id === L2_REQ.GET_INFO && lastRequestData?.[2] === GET_INFO_OBJECT.X509_CERTIFICATE);
      out.push({ seq: e.seq, layer: 'l2', text: l2Text(s, rx, polls), step: e.step, failed: isFailed, l1: win.l1, group: certRead ? 'cert' : undefined });
      if (decryptor && s.kind === 'request' && s.id === L2_REQ.ENCRYPTED_CMD && s.crc) {
        const d = decryptor.commandChunk(tx.subarray(2, 2 + s.len));
        if (d?.kind === 'command') {
          lastCommandAnnotated = annotatedCommands > 0;
          if (lastCommandAnnotated) annotatedCommands--;
        }
        if (d && !(d.kind === 'command' && lastCommandAnnotated)) out.push({ seq: e.seq, layer: 'l3', text: decryptedText(d, decryptor.slot), step: e.step, failed: d.kind === 'undecryptable' });
      }
      if (decryptor && s.kind === 'response' && (s.status === L2_STATUS.RES_CONT || s.status === L2_STATUS.RES_OK) && s.crc) {
        const d = decryptor.resultChunk(responseData(rx));
        if (d && !(d.kind === 'result' && lastCommandAnnotated)) out.push({ seq: e.seq, layer: 'l3', text: decryptedText(d, decryptor.slot), step: e.step, failed: d.kind === 'undecryptable' });
      }
      if (s.kind === 'request') {
        lastRequest = s;
        lastRequestData = tx;
      }
      if (s.kind !== 'poll') polls = 0;
      win = undefined;
      continue;
    }
    if (!opts.l1 && (e.tag !== TAG.WAIT || failed)) {
      if (e.tag === TAG.SPI_SEND || e.tag === TAG.CSN_HIGH) out.push({ seq: e.seq, layer: 'l1', text: `${l1} (outside a chip-select window)`, step: e.step, failed });
      else out.push({ seq: e.seq, layer: 'target', text: l1, step: e.step, failed });
    }
  }
  if (win && !opts.l1) out.push({ seq: entries[entries.length - 1]?.seq ?? 0, layer: 'l2', text: 'chip-select window still open at the end of the log', failed: win.failed, l1: win.l1 });
  flushAnnotations(Number.MAX_SAFE_INTEGER);
  return opts.l1 ? out : foldCertificateReads(out);
}

function decryptedText(d: DecryptedL3, slot: number): string {
  switch (d.kind) {
    case 'command': return `L3 command ${d.name}${d.args ? ` ${d.args}` : ''} (decrypted, nonce ${d.nonce})`;
    case 'result': return `L3 result ${d.name} (0x${d.result.toString(16).padStart(2, '0')})${d.command ? ` of ${d.command}` : ''}, ${d.length} data bytes (decrypted, nonce ${d.nonce})`;
    default: return `L3 ${d.direction} does not authenticate with the recorded keys of pairing slot ${slot} (nonces ${d.nonce}..${d.nonce + NONCE_LOOKAHEAD})`;
  }
}

/** The certificate store is read in up to 30 Get_Info blocks: one line with a count instead. */
function foldCertificateReads(lines: DecodedLine[]): DecodedLine[] {
  const out: DecodedLine[] = [];
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j < lines.length && lines[j].group === 'cert' && !lines[j].failed) j++;
    const run = lines.slice(i, j);
    const reads = run.filter((l) => l.text.startsWith('L2 request')).length;
    if (reads >= 2) {
      const blocks = run.map((l) => /block (\d+)/.exec(l.text)?.[1]).filter((b): b is string => b !== undefined);
      const statuses = [...new Set(run.filter((l) => l.text.startsWith('L2 response')).map((l) => l.text.split(' ')[2]))];
      const crcBad = run.some((l) => l.text.includes('crc=BAD'));
      out.push({
        seq: run[0].seq, layer: 'l2', step: run[0].step, group: 'cert', l1: run.flatMap((l) => l.l1 ?? []),
        text: `L2 Get_Info X509_CERTIFICATE blocks ${blocks[0]}..${blocks[blocks.length - 1]}: ${reads} reads (request+response), responses ${statuses.join('/')} crc=${crcBad ? 'BAD' : 'ok'}`,
      });
      i = j;
    } else {
      out.push(lines[i]);
      i++;
    }
  }
  return out;
}

export function formatLine(d: DecodedLine): string {
  return `${d.failed ? '>>' : '  '} #${String(d.seq).padStart(5)} ${d.text}${d.step ? `   [${d.step}]` : ''}`;
}

/** The decoded log as text, one line per decoded line. */
export function decodeFrameLog(entries: FrameLogEntry[], opts: DecodeOptions = {}): string {
  return decodeLines(entries, opts).map(formatLine).join('\n') + '\n';
}

/**
 * What a failing test shows: the `count` decoded lines up to its last failed line (a failed
 * exchange or a step that ended in an error), or up to the end when none failed. Traffic after it
 * (the fixtures' restore in teardown) is left out.
 */
export function decodeTail(entries: FrameLogEntry[], opts: DecodeOptions = {}, count = 25): string {
  return tailOfLines(decodeLines(entries, opts), count);
}

/** `decodeTail` of lines already decoded (a caller that also writes the whole trace decodes once). */
export function tailOfLines(lines: DecodedLine[], count = 25): string {
  let end = lines.length;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (lines[i].failed) {
      end = i + 1;
      break;
    }
  }
  const shown = lines.slice(Math.max(0, end - count), end).map(formatLine);
  if (end < lines.length) shown.push(`   (${lines.length - end} later lines: teardown traffic, see frame-log.decoded.txt)`);
  return shown.join('\n') + '\n';
}

export { chipStatusText };
