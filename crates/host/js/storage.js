// Persisted batches (SPEC §8), in browser pages: the `localStorage` calls under one
// client's key prefix, and the claim that gives one stored batch to one tab at a time.
// What is stored, when, what is sent, kept or deleted is decided by the core
// (crates/core/src/persist.rs, delivery.rs); nothing here throws.
//
// Both front doors run this one file, as they run the rest of this js/ folder
// (crates/host): the same keys, format and claims, so a page restores what either stored.
// Both keep the anonymous user id and the opt-out through its storageGet/storageSet too.

// Storage changes reach other tabs a little after lock grants do: under a claim, a batch
// is read only after this long, so a tab that just deleted it (and let go) is seen.
const SETTLE_MS = 100;
// How often a tab waiting for another tab's claim written to storage looks again.
const WAIT_MS = 250;
const CLAIM = ':claim';
// Tells this tab's claims written to storage from other tabs'.
const TAB = Math.random().toString(36).slice(2);
// How to let go of each claim this tab holds, by key.
const held = new Map();
const expiry = (claim) => Number(claim.split(' ')[1]);

/** The runtime's localStorage, or undefined. */
function storage() {
  try {
    return typeof globalThis.localStorage === 'object' ? globalThis.localStorage : undefined;
  } catch {
    return undefined; // e.g. a sandboxed iframe throws on access
  }
}

/** A persisted value, or undefined where the runtime has no storage. */
export function storageGet(key) {
  try {
    const s = storage();
    const v = s && s.getItem(key);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Persists `value` under `key` (removes it when `value` is undefined), where possible.
 * Returns '', or why the storage refused (a full quota, privacy mode): the value then lives
 * for this instance only.
 */
export function storageSet(key, value) {
  try {
    const s = storage();
    if (s) value === undefined ? s.removeItem(key) : s.setItem(key, value);
    return '';
  } catch (e) {
    return why(e);
  }
}

/** A short description of a thrown value that cannot itself throw. */
function why(e) {
  try {
    return String((e && e.message) || e) || 'storage failed';
  } catch {
    return 'storage failed';
  }
}

/**
 * `<suffix> <value length>` lines, oldest first, for the stored batches under `prefix`
 * (keys `<prefix><time>.<writer><n>.<signal>.<items>`); undefined where there is no
 * storage. Expired claims of a tab that died go.
 */
export function storeList(prefix) {
  try {
    const s = storage();
    if (!s) return undefined;
    const lines = [];
    const stale = [];
    for (let i = 0; i < s.length; i++) {
      const key = s.key(i) || '';
      const rest = key.startsWith(prefix) ? key.slice(prefix.length) : '';
      const value = s.getItem(key) || '';
      if (/^\d{13}\.\w+\.(traces|metrics|logs)\.\d+$/.test(rest)) lines.push(`${rest} ${value.length}`);
      else if (rest.endsWith(CLAIM) && !(expiry(value) > Date.now())) stale.push(key);
    }
    stale.forEach((key) => s.removeItem(key));
    return lines.sort().join('\n');
  } catch {
    return undefined;
  }
}

/**
 * Stores a batch under `key`: `head` (`g|t attempts url`), a newline, then `body`, in
 * base64 when the head says gzip, else as the text it is. Returns '' or why the storage
 * refused.
 */
export function storePut(key, head, body) {
  try {
    let text = '';
    if (head[0] === 'g') {
      for (let i = 0; i < body.length; i += 0x8000) text += String.fromCharCode.apply(null, body.subarray(i, i + 0x8000));
      text = btoa(text);
    } else {
      text = new TextDecoder().decode(body);
    }
    return storageSet(key, head + '\n' + text);
  } catch (e) {
    return String(e);
  }
}

/**
 * Claims the batch under `key` for this tab, exclusively across the tabs of the origin,
 * then calls `then([url, body, contentEncoding])` as stored, always later; `then()` when
 * it is gone, or another tab held it for longer than `ttl` ms. With `navigator.locks`, the
 * claim is a Web Lock named by the key (the browser lets it go if the tab dies); without,
 * a claim written beside the batch that expires after `ttl` ms. A tab that finds the batch
 * claimed waits: the holder deletes it before letting go (this tab then finds it gone), or
 * its tab died and the claim goes (a dead tab's written claim, when it expires). Leaving it
 * at once would leave a dead tab's batch to the next page load. The claim is held until
 * storeRelease(key).
 */
export function claimStored(key, ttl, then) {
  // Under the claim, after SETTLE_MS: the batch, if the claim is still ours and it is stored.
  const settle = (release, ours) =>
    setTimeout(() => {
      let batch;
      try {
        const value = ours() && storageGet(key);
        const at = value ? value.indexOf('\n') : -1;
        const [encoding, , url] = value.slice(0, at).split(' ');
        const body = value.slice(at + 1);
        const gzip = encoding === 'g';
        if (at > 0 && url) batch = [url, gzip ? Uint8Array.from(atob(body), (c) => c.charCodeAt(0)) : new TextEncoder().encode(body), gzip ? 'gzip' : ''];
      } catch {
        // Not this format's: left alone.
      }
      if (batch) held.set(key, release);
      else release();
      then(batch);
    }, SETTLE_MS);
  try {
    const locks = globalThis.navigator && globalThis.navigator.locks;
    if (locks && typeof locks.request === 'function') {
      const signal = typeof AbortSignal.timeout === 'function' ? AbortSignal.timeout(ttl) : undefined;
      locks.request(key, { signal }, () => new Promise((release) => settle(release, () => 1))).catch(() => then());
      return;
    }
    const claim = key + CLAIM;
    const deadline = Date.now() + ttl;
    const attempt = () => {
      try {
        const other = storageGet(claim);
        if (other && !other.startsWith(TAB + ' ') && expiry(other) > Date.now()) {
          return Date.now() < deadline ? setTimeout(attempt, WAIT_MS) : then();
        }
        const mine = `${TAB} ${Date.now() + ttl}`;
        if (storageSet(claim, mine)) return then();
        settle(
          () => storageGet(claim) === mine && storageSet(claim),
          () => storageGet(claim) === mine,
        );
      } catch {
        then();
      }
    };
    setTimeout(attempt);
  } catch {
    setTimeout(then);
  }
}

/**
 * Does what the core said to the batch under `key` (0 keep, 1 delete, 2 count one more
 * attempt in its head), then lets go of this tab's claim on it.
 */
export function storeRelease(key, then) {
  try {
    const value = storageGet(key);
    if (then === 1) storageSet(key);
    else if (then === 2 && value) storageSet(key, value.replace(/ \d+/, (n) => ' ' + (+n + 1)));
    const release = held.get(key);
    held.delete(key);
    if (release) release();
  } catch {
    // Nothing to let go of.
  }
}
