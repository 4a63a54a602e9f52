/**
 * Target addresses: `tcp://host:port` (plain tagged TCP) and `tls://host:port` (the same protocol
 * over TLS with client certificates). Hosts may be names, IPv4 addresses or bracketed IPv6
 * literals (`tcp://[::1]:28992`). Errors are ConfigErrors naming the text and what was expected,
 * so configuration checks can list them with the other bad variables.
 */
import net from 'node:net';
import { ConfigError } from '../errors.js';

export type TargetScheme = 'tcp' | 'tls';

export interface TargetUrl {
  scheme: TargetScheme;
  host: string;
  port: number;
}

const URL_FORM = 'tcp://host:port or tls://host:port (IPv6 as [addr]; port 1..65535)';
const HOST_PORT_FORM = 'host:port (IPv6 as [addr]:port; port 1..65535)';

function urlError(what: string, text: string, problem: string, expected: string): ConfigError {
  return new ConfigError(`${what} ${JSON.stringify(text)} ${problem}; expected ${expected}`, [], 'TH_TARGET_URL');
}

/** `host:port` with an optional `[v6]` bracketed host. The host comes back without brackets. */
export function parseHostPort(text: string, what: string): { host: string; port: number } {
  return splitHostPort(text, text, what, HOST_PORT_FORM);
}

/** `tcp://host:port` or `tls://host:port`; nothing may follow the port (no path, query or user). */
export function parseTargetUrl(url: string, what = 'URL'): TargetUrl {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  if (!m) throw urlError(what, url, 'has no scheme', URL_FORM);
  const scheme = m[1].toLowerCase();
  if (scheme !== 'tcp' && scheme !== 'tls') throw urlError(what, url, `has scheme "${m[1]}"`, URL_FORM);
  return { scheme, ...splitHostPort(m[2], url, what, URL_FORM) };
}

function splitHostPort(rest: string, whole: string, what: string, expected: string): { host: string; port: number } {
  let host: string;
  let portText: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) throw urlError(what, whole, 'has an IPv6 literal without its closing "]"', expected);
    host = rest.slice(1, close);
    if (net.isIPv6(host) === false) throw urlError(what, whole, `has "${host}" in brackets, which is not an IPv6 address`, expected);
    if (rest[close + 1] !== ':') throw urlError(what, whole, 'has no ":port" after the IPv6 literal', expected);
    portText = rest.slice(close + 2);
  } else {
    const colon = rest.lastIndexOf(':');
    if (colon < 0) throw urlError(what, whole, 'has no port', expected);
    host = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (host.includes(':')) throw urlError(what, whole, 'has an IPv6 address without brackets', expected);
    if (!/^[A-Za-z0-9._-]+$/.test(host)) throw urlError(what, whole, host ? `has host "${host}", which is not a host name or address` : 'has no host', expected);
  }
  if (!/^\d{1,5}$/.test(portText)) throw urlError(what, whole, portText ? `has port "${portText}", which is not a number` : 'has no port', expected);
  const port = Number(portText);
  if (port < 1 || port > 65535) throw urlError(what, whole, `has port ${port}, outside 1..65535`, expected);
  return { host, port };
}
