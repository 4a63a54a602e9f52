/** The known-findings registry, shared by specs, replay and exploration. */
export * from './registry.js';
