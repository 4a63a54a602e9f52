/**
 * A real model server on an ephemeral loopback port for a test file: started before each test (a
 * fresh chip, default faults) and closed after it. Call once at the top level of the file.
 */
import { test } from '@playwright/test';
import { ModelServer } from '../model/server.js';

export function modelServerPerTest(): { readonly server: ModelServer } {
  let current: ModelServer | undefined;
  test.beforeEach(async () => {
    current = await new ModelServer({ port: 0 }).start();
  });
  test.afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return {
    get server(): ModelServer {
      if (!current) throw new Error('the model server runs only inside a test (modelServerPerTest)');
      return current;
    },
  };
}
