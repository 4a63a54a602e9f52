/**
 * `tropic-harness rig leases` (who holds which rig), `rig release --force NAME` (a person frees a
 * rig whose holder is gone or stuck) and `tropic-harness qualify` (a qualification run over the
 * inventory's chips).
 */
import path from 'node:path';
import type { Command } from 'commander';
import { resolveConfig } from '../config/env.js';
import { CliError } from '../errors.js';
import { describeHolder } from '../rig/pool/lease-store.js';
import { openLeaseStore, poolSettings, type PoolSettings } from '../rig/pool/settings.js';
import { qualify } from '../rig/qualify/qualify.js';
import { intArg } from './args.js';

/** Pool settings from the validated configuration (environment and dotenv files), with command-line overrides. */
function settingsFrom(overrides: Partial<PoolSettings>): PoolSettings {
  let cfg: object;
  try {
    cfg = resolveConfig();
  } catch {
    // Pool commands need only the pool's variables; an unrelated bad variable must not block freeing a rig.
    cfg = {};
  }
  const s = poolSettings(cfg);
  return { ...s, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

const storeOption = ['--store <store>', 'lease store: local or redis://host:port[/db] (default TROPIC_LEASE_STORE, else local)'] as const;
const leaseDirOption = ['--lease-dir <dir>', 'directory of the local lease store (default TROPIC_LEASE_DIR, else <tmp>/tropic-harness-leases)'] as const;

export function registerRigPoolCommands(rigCommand: Command): void {
  rigCommand
    .command('leases')
    .description('list the rig leases: rig, holder (host, pid, run), since, expires in')
    .option(...storeOption)
    .option(...leaseDirOption)
    .option('--json', 'print JSON')
    .action(async (o: { store?: string; leaseDir?: string; json?: boolean }) => {
      const store = openLeaseStore(settingsFrom({ store: o.store, leaseDir: o.leaseDir }));
      try {
        const leases = await store.list();
        if (o.json) {
          process.stdout.write(JSON.stringify(leases, null, 2) + '\n');
          return;
        }
        if (!leases.length) {
          process.stdout.write(`no rig is leased (${store.where})\n`);
          return;
        }
        const rows = [['RIG', 'HOLDER', 'SINCE', 'EXPIRES IN'], ...leases.map((l) => [l.rig, describeHolder(l.holder), l.since, l.expiresInMs > 0 ? `${(l.expiresInMs / 1000).toFixed(1)} s` : 'expired'])];
        const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
        process.stdout.write(rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n') + `\n(${store.where})\n`);
      } finally {
        await store.close();
      }
    });

  rigCommand
    .command('release')
    .description("free a rig whatever holds it (its holder loses the lease at its next renewal); needs --force")
    .argument('<name>', 'rig name as in rigs.yaml')
    .option('--force', 'confirm: release a lease this command does not hold')
    .option(...storeOption)
    .option(...leaseDirOption)
    .action(async (name: string, o: { force?: boolean; store?: string; leaseDir?: string }) => {
      if (!o.force) throw new CliError(`rig release ${name}: add --force to free a rig held by another run (its holder will lose the lease)`);
      const store = openLeaseStore(settingsFrom({ store: o.store, leaseDir: o.leaseDir }));
      try {
        const holder = (await store.list()).find((l) => l.rig === name);
        const had = await store.forceRelease(name);
        process.stdout.write(had ? `released ${name}${holder ? ` (was held by ${describeHolder(holder.holder)} since ${holder.since})` : ''}\n` : `${name} was not leased (${store.where})\n`);
      } finally {
        await store.close();
      }
    });
}

export function registerQualifyCommand(program: Command): void {
  program
    .command('qualify')
    .description(
      'qualify the chips of the rig inventory: lease each matching rig, record its identity, verify its certificate chain, run the reversible specs ' +
        '(irreversible only with TROPIC_ALLOW_IRREVERSIBLE=1 and --confirm-serial), record latency; writes <out>/<serial>/record.json and summary.html',
    )
    .option('--rigs <file>', 'rig inventory (default TROPIC_RIGS)')
    .option('--labels <key=value,...>', 'labels the rigs must have (default TROPIC_RIG_LABELS)')
    .option('--rig <names...>', 'only these rigs (by name)')
    .option('--trust-root <pem>', 'trusted root certificate(s), PEM (default TROPIC_TRUST_ROOT)')
    .option('--grep <regexp>', 'run only the specs matching this (Playwright --grep)')
    .option('--confirm-serial <serial>', 'with TROPIC_ALLOW_IRREVERSIBLE=1: the serial of the one chip the irreversible specs may change')
    .option('--out <dir>', 'records folder', 'reports/qualification')
    .option(...storeOption)
    .option(...leaseDirOption)
    .option('--wait-ms <ms>', 'bound on waiting for a held rig (default TROPIC_LEASE_WAIT_MS)', intArg('--wait-ms', 1, 86_400_000))
    .addHelpText('after', '\nExit codes: 0 every chip qualified; 1 a chip failed or could not be qualified (see its record and the log).')
    .action(async (o: { rigs?: string; labels?: string; rig?: string[]; trustRoot?: string; grep?: string; confirmSerial?: string; out: string; store?: string; leaseDir?: string; waitMs?: number }) => {
      const settings = settingsFrom({ rigsFile: o.rigs, labels: o.labels, trustRoot: o.trustRoot, store: o.store, leaseDir: o.leaseDir, waitMs: o.waitMs });
      const allow = ['1', 'true'].includes(process.env.TROPIC_ALLOW_IRREVERSIBLE ?? '') || (() => {
        try {
          return resolveConfig().TROPIC_ALLOW_IRREVERSIBLE;
        } catch {
          return false;
        }
      })();
      const outcomes = await qualify({
        settings,
        rigNames: o.rig,
        grep: o.grep,
        allowIrreversible: allow,
        confirmSerial: o.confirmSerial,
        outDir: path.resolve(o.out),
      });
      for (const x of outcomes) {
        process.stdout.write(x.record ? `${x.rig}: ${x.record.identity.serial} ${x.record.verdict.toUpperCase()} ${x.files!.json}\n` : `${x.rig}: NOT QUALIFIED: ${x.error}\n`);
      }
      if (outcomes.some((x) => !x.record || x.record.verdict !== 'qualified')) process.exitCode = 1;
    });
}
