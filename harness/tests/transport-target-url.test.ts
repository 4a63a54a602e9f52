/** Target URLs and host:port texts: accepted forms, and errors that name the text and the form expected. */
import { test, expect } from '@playwright/test';
import { parseHostPort, parseTargetUrl } from '../transport/target-url.js';
import { ConfigError } from '../errors.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { echo, loopbackServer } from './transport-loopback.js';

test('tcp:// and tls:// URLs parse to scheme, host and port, IPv6 literals without brackets', () => {
  expect(parseTargetUrl('tcp://127.0.0.1:28992')).toEqual({ scheme: 'tcp', host: '127.0.0.1', port: 28992 });
  expect(parseTargetUrl('tls://rig-3.lab.example:443')).toEqual({ scheme: 'tls', host: 'rig-3.lab.example', port: 443 });
  expect(parseTargetUrl('tcp://[::1]:28992')).toEqual({ scheme: 'tcp', host: '::1', port: 28992 });
  expect(parseTargetUrl('TLS://[fe80::1:2]:1')).toEqual({ scheme: 'tls', host: 'fe80::1:2', port: 1 });
  expect(parseTargetUrl('tcp://localhost:65535').port).toBe(65535);
});

test('host:port parses with optional IPv6 brackets', () => {
  expect(parseHostPort('127.0.0.1:9000', 'TVL address')).toEqual({ host: '127.0.0.1', port: 9000 });
  expect(parseHostPort('[::1]:9000', 'TVL address')).toEqual({ host: '::1', port: 9000 });
  expect(parseHostPort('model:28992', 'TVL address')).toEqual({ host: 'model', port: 28992 });
});

const bad: [string, RegExp][] = [
  ['127.0.0.1:28992', /has no scheme/],
  ['http://127.0.0.1:80', /has scheme "http"/],
  ['tcp://127.0.0.1', /has no port/],
  ['tcp://127.0.0.1:0', /port 0, outside 1\.\.65535/],
  ['tcp://127.0.0.1:65536', /port 65536, outside 1\.\.65535/],
  ['tcp://127.0.0.1:80x', /port "80x", which is not a number/],
  ['tcp://::1:28992', /IPv6 address without brackets/],
  ['tcp://[::1:28992', /without its closing "\]"/],
  ['tcp://[::1]28992', /no ":port" after the IPv6 literal/],
  ['tcp://[nope]:1', /"nope" in brackets, which is not an IPv6 address/],
  ['tcp://:28992', /has no host/],
  ['tcp://host/path:1', /host "host\/path"/],
];
for (const [url, problem] of bad) {
  test(`${JSON.stringify(url)} is refused: ${problem.source}`, () => {
    let e: unknown;
    try {
      parseTargetUrl(url, 'TROPIC_RIG');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).code).toBe('TH_TARGET_URL');
    expect((e as Error).message).toContain(`TROPIC_RIG ${JSON.stringify(url)}`);
    expect((e as Error).message).toMatch(problem);
    expect((e as Error).message).toContain('expected tcp://host:port or tls://host:port');
  });
}

test('a bad host:port names what it is for and the form expected', () => {
  expect(() => parseHostPort('[::1]', 'TVL address')).toThrow(/TVL address "\[::1\]" has no ":port".*expected host:port/);
});

test('a tcp://[::1]:port URL reaches an IPv6 loopback server; addresses are shown bracketed', async () => {
  const s = await loopbackServer(echo, undefined, '::1');
  const { host, port } = parseTargetUrl(`tcp://[::1]:${s.port}`, 'TROPIC_RIG');
  const t = await TcpTransport.connect({ host, port });
  expect(await t.transfer(Uint8Array.of(0x0f))).toEqual(Uint8Array.of(0xf0));
  expect(t.remoteAddress).toBe(`[::1]:${s.port}`);
  await t.close();
  await s.close();
});
