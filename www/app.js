// The demo page: a client that sends to the collector through this site's /collector
// path (the recommended same-origin setup), buttons that track, a live getStatus() view,
// and the requests the collector received, read from its /_requests control endpoint.
import { AutomagikTelemetry, MetricType, LogSeverity, StandardEvents, VERSION } from '@automagik/telemetry';

const endpoint = new URL('/collector', location.href).href;
const telemetry = new AutomagikTelemetry({
  projectName: 'web-demo',
  version: '1.0.0',
  endpoint,
  flushInterval: 3000, // short, so the queue visibly drains on its own
  enabled: true, // the person running the demo opts in
});
window.telemetry = telemetry; // for poking at it from the devtools console

const $ = (sel) => document.querySelector(sel);
$('#version').textContent = `v${VERSION}`;
$('#endpoint').textContent = endpoint;
fillOptions($('#standard-events'), Object.values(StandardEvents));
fillOptions($('[name=type]'), Object.values(MetricType));
fillOptions($('[name=severity]'), ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'], 'INFO');

function fillOptions(el, values, selected) {
  for (const v of values) el.append(new Option(v, v, false, v === selected));
}

function onSubmit(form, track) {
  $(form).addEventListener('submit', (e) => {
    e.preventDefault();
    track(new FormData(e.target));
  });
}

// Invalid JSON is tracked as typed: the SDK never throws, and the status shows the result.
function parseAttributes(text) {
  try {
    return text.trim() ? JSON.parse(text) : {};
  } catch {
    return { raw: text };
  }
}

onSubmit('#event-form', (f) => telemetry.trackEvent(f.get('name'), parseAttributes(f.get('attributes'))));
onSubmit('#metric-form', (f) => telemetry.trackMetric(f.get('name'), Number(f.get('value')), f.get('type')));
onSubmit('#log-form', (f) => telemetry.trackLog(f.get('message'), LogSeverity[f.get('severity')]));

$('#track-burst').addEventListener('click', () => {
  for (let i = 0; i < 50; i++) telemetry.trackEvent('demo.burst', { index: i });
});

$('#track-error').addEventListener('click', () => {
  try {
    JSON.parse('{"settings": oops}');
  } catch (error) {
    telemetry.trackError(error, { operation: 'load_settings' });
  }
});

$('#flush').addEventListener('click', async () => {
  const note = $('#flush-note');
  const start = performance.now();
  note.textContent = 'flushing…';
  await telemetry.flush();
  note.textContent = `flushed in ${Math.round(performance.now() - start)} ms`;
});

$('#toggle').addEventListener('click', async () => {
  if (telemetry.isEnabled()) await telemetry.disable();
  else telemetry.enable();
});

// ---- live status -------------------------------------------------------------------

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
const kib = (bytes) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`);

function setField(name, text) {
  const el = document.querySelector(`[data-status="${name}"]`);
  if (el.textContent !== text) el.textContent = text;
}

function renderStatus() {
  const s = telemetry.getStatus();
  const q = s.queueSizes;
  const dropped = Object.entries(s.dropped).filter(([, n]) => n > 0);
  setField('queueSize', String(s.queueSize));
  setField('queueDetail', `${plural(q.traces, 'span')} · ${plural(q.metrics, 'metric')} · ${plural(q.logs, 'log')} · ${kib(s.queuedBytes)}`);
  setField('sent.items', String(s.sent.items));
  setField('sentDetail', `${plural(s.sent.requests, 'request')} · ${kib(s.sent.bytes)} on the wire`);
  setField('droppedTotal', String(dropped.reduce((sum, [, n]) => sum + n, 0)));
  setField('droppedDetail', dropped.length ? dropped.map(([k, n]) => `${k} ${n}`).join(' · ') : 'nothing lost');
  setField('inFlight', String(s.inFlight));
  setField('retriesDetail', `${s.retries} ${s.retries === 1 ? 'retry' : 'retries'}`);
  setField('enabled', s.enabled ? 'on' : 'off');
  document.querySelector('[data-status="enabled"]').classList.toggle('off', !s.enabled);
  setField('lastError', s.lastError ?? 'none');
  document.querySelector('[data-status="lastError"]').classList.toggle('bad', !!s.lastError);
  setField('userId', s.userId ?? 'not yet (set at the first tracking call)');
  setField('sessionId', s.sessionId ?? 'not yet');
  $('#toggle').textContent = s.enabled ? 'Disable' : 'Enable';
}

// ---- what the collector received ------------------------------------------------------

function describe(r) {
  const j = r.json ?? {};
  if (j.resourceSpans) return j.resourceSpans.flatMap((x) => x.scopeSpans.flatMap((s) => s.spans.map((i) => i.name)));
  if (j.resourceMetrics) return j.resourceMetrics.flatMap((x) => x.scopeMetrics.flatMap((s) => s.metrics.map((i) => i.name)));
  if (j.resourceLogs) {
    return j.resourceLogs.flatMap((x) => x.scopeLogs.flatMap((s) => s.logRecords.map((i) => `${i.severityText} ${i.body?.stringValue ?? ''}`)));
  }
  return [];
}

// Repeated names are shown once with a count, so a burst reads as one line.
function summarize(names) {
  const counts = new Map();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => (c > 1 ? `${n} ×${c}` : n));
}

function requestItem(r) {
  const li = document.createElement('li');
  const head = document.createElement('div');
  head.className = 'feed-head';
  const signal = Object.assign(document.createElement('span'), { className: `kind ${r.signal}`, textContent: r.signal });
  const time = new Date(r.arrival_ms).toLocaleTimeString();
  const meta = Object.assign(document.createElement('span'), {
    className: 'meta',
    textContent: `${plural(r.item_count ?? 0, 'item')} · ${kib(r.wire_size)}${r.content_encoding ? ` ${r.content_encoding}` : ''} · ${time}`,
  });
  const verdict = Object.assign(document.createElement('span'), {
    className: r.errors.length ? 'verdict bad' : 'verdict ok',
    textContent: r.errors.length ? `invalid: ${r.errors[0]}` : 'valid OTLP',
  });
  head.append(signal, meta, verdict);
  const names = Object.assign(document.createElement('div'), { className: 'names', textContent: summarize(describe(r)).join(', ') });
  li.append(head, names);
  return li;
}

let shown = 0;
async function renderReceived() {
  const res = await fetch('/collector/_requests', { cache: 'no-store' });
  if (!res.ok) return;
  const all = await res.json();
  if (all.length === shown) return;
  const list = $('#received');
  for (const r of all.slice(shown)) list.prepend(requestItem(r));
  shown = all.length;
  const itemsTotal = all.reduce((sum, r) => sum + (r.item_count ?? 0), 0);
  $('#received-summary').textContent = `${plural(all.length, 'request')}, ${plural(itemsTotal, 'item')}`;
}

renderStatus();
setInterval(renderStatus, 250);
// The collector view is a convenience: if it stops answering, the page keeps working.
const poll = () => renderReceived().catch(() => {}).finally(() => setTimeout(poll, 1000));
poll();
