// What the core cannot see from wasm: which runtime this is, environment variables,
// privacy signals, randomness and the console (storage is in ./storage.js). Every
// function degrades to "unknown" rather than throwing: hosts differ in what they expose.

/** `name\nversion\nos\nhostname` of the running JS runtime, as far as it tells. */
export function runtimeInfo() {
  try {
    return describeRuntime(globalThis);
  } catch {
    return 'unknown\n\n\n';
  }
}

function describeRuntime(g) {
  const host = (typeof g.location === 'object' && g.location && g.location.hostname) || '';
  if (typeof g.Deno === 'object' && g.Deno.version) {
    return ['deno', g.Deno.version.deno, (g.Deno.build && g.Deno.build.os) || '', host].join('\n');
  }
  if (typeof g.navigator === 'object' && g.navigator.userAgent === 'Cloudflare-Workers') {
    return 'workerd\n\n\n';
  }
  if (typeof g.Bun === 'object' && g.process && g.process.versions && g.process.versions.bun) {
    return ['bun', g.process.versions.bun, g.process.platform || '', ''].join('\n');
  }
  if (typeof g.process === 'object' && g.process.versions && g.process.versions.node) {
    return ['node', g.process.versions.node, g.process.platform || '', ''].join('\n');
  }
  if (typeof g.document === 'object' || typeof g.navigator === 'object') return ['browser', '', '', host].join('\n');
  return 'unknown\n\n\n';
}

/**
 * The environment variable `name`: from `configEnv` when the caller passed one (Workers
 * pass their `env` binding), else from the process where that needs no permission prompt.
 */
export function readEnv(configEnv, name) {
  try {
    if (configEnv !== undefined && configEnv !== null) {
      const v = configEnv[name];
      return v === undefined || v === null ? undefined : String(v);
    }
    const g = globalThis;
    if (typeof g.Deno === 'object') {
      const q = g.Deno.permissions && g.Deno.permissions.querySync;
      const state = q ? q.call(g.Deno.permissions, { name: 'env', variable: name }).state : 'prompt';
      return state === 'granted' ? g.Deno.env.get(name) : undefined;
    }
    if (typeof g.process === 'object' && g.process.env) {
      return g.process.env[name];
    }
  } catch {
    // Unreadable environment: treat as unset.
  }
  return undefined;
}

/** Whether the browser signals Global Privacy Control or Do Not Track. */
export function privacySignal() {
  try {
    const g = globalThis;
    const n = g.navigator;
    return !!(n && (n.globalPrivacyControl === true || n.doNotTrack === '1' || n.doNotTrack === 'yes')) || g.doNotTrack === '1';
  } catch {
    return false;
  }
}

// An entry module may hand over a faster source: the Node entry registers node:crypto's
// randomFillSync (Node's WebCrypto loads lazily, costing the first tracking call up to
// 2 ms; Node 18 has none at all). Only an entry may import Node built-ins.
const RANDOM_SOURCE = Symbol.for('automagik-telemetry.randomFill');

/**
 * Fills `buf` from the entry's random source, else the runtime's WebCrypto, else
 * Math.random (ids must be unique, not secret). Returns '' or, when it had to fall back
 * to Math.random, why.
 */
export function fillRandom(buf) {
  let why = 'no WebCrypto';
  try {
    const fill = globalThis[RANDOM_SOURCE];
    if (typeof fill === 'function') {
      fill(buf);
      return '';
    }
  } catch {
    // Try WebCrypto.
  }
  try {
    const c = globalThis.crypto;
    if (c && typeof c.getRandomValues === 'function') {
      c.getRandomValues(buf);
      return '';
    }
  } catch (e) {
    why = 'crypto.getRandomValues failed: ' + String((e && e.message) || e);
  }
  // V8's and SpiderMonkey's Math.random are seeded from the OS at start-up.
  for (let i = 0; i < buf.length; i++) buf[i] = (Math.random() * 256) & 0xff;
  return why + ': ids come from Math.random';
}

/** A debug line for `verbose` mode. */
export function debug(line) {
  try {
    console.log('[automagik-telemetry] ' + line);
  } catch {
    // No console.
  }
}

/** A warning a person must see once, verbose or not. */
export function warn(line) {
  try {
    console.warn('[automagik-telemetry] ' + line);
  } catch {
    // No console.
  }
}
