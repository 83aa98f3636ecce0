// Plain JS values the client needs, each in one crossing: the status object, flush
// promises (without a wasm closure for their executor), the options, and the error a bad
// one throws.

const THREW = Symbol('a throwing getter');

/** `config[name]` (a dotted name reads nested: `scrub.keys`), or a symbol when reading it threw. */
export function option(config, name) {
  try {
    let v = config;
    for (const part of name.split('.')) v = v[part];
    return v;
  } catch {
    return THREW;
  }
}

/**
 * The error a bad configuration throws (a RangeError when `range`, else a TypeError):
 * `message`, then the value received, `config[name]` (or `config` itself when `name` is
 * empty), as JS prints it (`5`, `1.5`, `1e+300`, `NaN`, `null`), a string quoted and cut to
 * 80 characters, anything else by its type.
 */
export function configError(range, message, config, name) {
  const v = name ? option(config, name) : config;
  let received;
  switch (typeof v) {
    case 'string':
      received = JSON.stringify(v.length > 80 ? v.slice(0, 80) : v);
      break;
    case 'number':
    case 'boolean':
    case 'undefined':
      received = String(v);
      break;
    default:
      received = v === THREW ? 'a value from a throwing getter' : v === null ? 'null' : `a value of type ${typeof v}`;
  }
  return new (range ? RangeError : TypeError)(`${message}, received ${received}`);
}

/** A pending promise and its resolver. */
export function defer() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** The `getStatus()` object from the core's JSON (crates/core/src/status.rs). */
export function status(json) {
  return JSON.parse(json);
}
