/**
 * Who listens on a local TCP port, from Linux's /proc: the listening sockets in /proc/net/tcp{,6}
 * (their inodes), then the processes holding those inodes as file descriptors. Used so a target
 * never accepts an answer from a server that is not the one it started, and so a busy port's error
 * can name its holder. Elsewhere (no /proc) `listeners` answers undefined: callers fall back to a
 * bind test.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';

export interface PortHolder {
  pid: number;
  /** Process group: a target's server and any wrapper it runs in share one. */
  pgid: number;
  command: string;
}

const LISTEN = '0A';

function listeningInodes(port: number): Set<string> | undefined {
  const inodes = new Set<string>();
  let readAny = false;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    readAny = true;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10) continue;
      const localPort = parseInt(f[1].split(':')[1] ?? '', 16);
      if (localPort === port && f[3] === LISTEN) inodes.add(f[9]);
    }
  }
  return readAny ? inodes : undefined;
}

function processInfo(pid: number): PortHolder | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 5 (pgrp) follows "pid (comm) state ppid"; comm may contain spaces and parentheses.
    const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
    return { pid, pgid: Number(after[2]), command };
  } catch {
    return undefined;
  }
}

/**
 * Processes listening on the port (any local address, IPv4 or IPv6); [] when nobody does,
 * undefined when this system has no /proc/net. Processes of other users whose descriptors cannot
 * be read are not listed, so a non-empty socket table with no holder gives one entry with pid 0.
 */
export function listeners(port: number): PortHolder[] | undefined {
  const inodes = listeningInodes(port);
  if (!inodes) return undefined;
  if (!inodes.size) return [];
  const holders: PortHolder[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link: string;
      try {
        link = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1])) {
        const info = processInfo(Number(entry));
        if (info) holders.push(info);
        break;
      }
    }
  }
  return holders.length ? holders : [{ pid: 0, pgid: 0, command: '(a process this user cannot inspect)' }];
}

/** True when a loopback listener could be opened on the port now (the portable check). */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

export function describeHolders(holders: PortHolder[]): string {
  return holders.map((h) => (h.pid ? `pid ${h.pid} (${h.command.slice(0, 120)})` : h.command)).join(', ');
}
