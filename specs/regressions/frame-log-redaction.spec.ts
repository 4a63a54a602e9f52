/**
 * Frame logs never carry L3 plaintext: a private key stored with ECC_Key_Store travels only inside
 * the session's ciphertext, and the driver's annotations carry the public arguments (slot, curve).
 * harness/tests/framelog-artefacts.test.ts runs this spec and searches every artefact of the run
 * (frame log, decoded trace, HTML, Allure results) for the key.
 */
import { test, expect, spec } from '../../fixtures/index.js';

/** A fixed, recognisable P-256 scalar (test value only): the artefact search looks for its hex. */
const REDACTION_PROBE_KEY = Uint8Array.from(Buffer.from('5eC7e75eC7e75eC7e75eC7e75eC7e75eC7e75eC7e75eC7e75eC7e75eC7e75eC7'.toLowerCase(), 'hex'));

test('a private key stored with ECC_Key_Store is readable back as its public key only', spec('User API v1.4.0 4.2 Table 29 (ECC_Key_Store)'), async ({ session }) => {
  await session.eccKeyStore(5, 'P256', REDACTION_PROBE_KEY);
  const k = await session.eccKeyRead(5);
  expect(k.curve).toBe('P256');
  expect(k.origin).toBe('STORED');
  expect(k.publicKey.length).toBe(64);
});
