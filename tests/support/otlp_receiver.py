#!/usr/bin/env python3
"""Strict OTLP/HTTP JSON receiver for end-to-end tests of telemetry SDKs.

Accepts POST /v1/traces, /v1/metrics and /v1/logs, validates each body far
more strictly than a collector would (see ``validate_json``), records every
request and answers with scripted or default responses.

Control API (JSON):
  POST /_script    {"responses": [...], "default": {...}}  append to FIFO /
                   replace the default response
  GET  /_requests  recorded requests
  POST /_reset     clear records, script and default
  GET  /_health    liveness

Browsers post from another origin, so it answers CORS like a collector configured for
it: the request's Origin is echoed with credentials allowed (sendBeacon always sends
credentials), and a preflight is granted the headers an OTLP exporter needs,
Content-Type and Content-Encoding, and no others.

A response spec is {"status", "headers", "body", "delay_ms", "close", "path"};
keys left out take the built-in default (200, JSON content type, body "{}", no
delay, no close, any path). ``close: true`` drops the connection without
answering. ``path`` (one of /v1/traces, /v1/metrics, /v1/logs) scopes a spec
to requests to that path: a scripted response with a path is kept for the next
request to that path (requests to other paths take the next one that fits), and
a default with a path replaces the default for that path only (say, traces
always answered 503 while metrics and logs get the plain default).

Usage: python3 otlp_receiver.py [--port N] [--print]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import copy
import gzip
import json
import re
import sys
import threading
import time
import zlib
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2

F = FieldDescriptor

SIGNALS = {
    "/v1/traces": ("traces", trace_service_pb2.ExportTraceServiceRequest),
    "/v1/metrics": ("metrics", metrics_service_pb2.ExportMetricsServiceRequest),
    "/v1/logs": ("logs", logs_service_pb2.ExportLogsServiceRequest),
}

_INT64_RANGES = {
    F.TYPE_INT64: (-(2**63), 2**63 - 1),
    F.TYPE_SINT64: (-(2**63), 2**63 - 1),
    F.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    F.TYPE_UINT64: (0, 2**64 - 1),
    F.TYPE_FIXED64: (0, 2**64 - 1),
}
_INT32_RANGES = {
    F.TYPE_INT32: (-(2**31), 2**31 - 1),
    F.TYPE_SINT32: (-(2**31), 2**31 - 1),
    F.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    F.TYPE_UINT32: (0, 2**32 - 1),
    F.TYPE_FIXED32: (0, 2**32 - 1),
}
_FLOAT_TYPES = {F.TYPE_DOUBLE, F.TYPE_FLOAT}
# OTLP/JSON encodes these bytes fields as hex, every other bytes field as base64.
_HEX_ID_LENGTHS = {"traceId": 32, "spanId": 16, "parentSpanId": 16}
_EMPTY_ID_ALLOWED = {"parentSpanId"}
_DECIMAL_RE = re.compile(r"-?(0|[1-9][0-9]*)")
_LOWER_HEX_RE = re.compile(r"[0-9a-f]*")

_ANY_VALUE = common_pb2.AnyValue.DESCRIPTOR
_KEY_VALUE = common_pb2.KeyValue.DESCRIPTOR

# Request headers a preflight may ask for; a browser refuses the request if it needs another.
_CORS_ALLOWED_HEADERS = ("content-type", "content-encoding")

_BUILTIN_RESPONSE = {
    "status": 200,
    "headers": {"Content-Type": "application/json"},
    "body": "{}",
    "delay_ms": 0,
    "close": False,
    "path": None,
}


# --------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------


def _is_int(value) -> bool:
    # bool is a subclass of int in Python but not an integer in JSON.
    return isinstance(value, int) and not isinstance(value, bool)


def _check_scalar(value, field: FieldDescriptor, path: str, errors: list[str]):
    """Validate one non-message value; return it in the form ParseDict expects."""
    ftype = field.type
    if ftype == F.TYPE_ENUM:
        if not _is_int(value):
            errors.append(f"{path}: enum {field.enum_type.name} must be a JSON integer, got {value!r}")
        elif value not in field.enum_type.values_by_number:
            errors.append(f"{path}: {value} is not a defined {field.enum_type.name} value")
    elif ftype in _INT64_RANGES:
        lo, hi = _INT64_RANGES[ftype]
        if not isinstance(value, str) or not _DECIMAL_RE.fullmatch(value):
            errors.append(f"{path}: 64-bit integer must be a decimal string, got {value!r}")
        elif not lo <= int(value) <= hi:
            errors.append(f"{path}: {value} out of range for {field.name}")
    elif ftype in _INT32_RANGES:
        lo, hi = _INT32_RANGES[ftype]
        if not _is_int(value):
            errors.append(f"{path}: 32-bit integer must be a JSON integer, got {value!r}")
        elif not lo <= value <= hi:
            errors.append(f"{path}: {value} out of range for {field.name}")
    elif ftype in _FLOAT_TYPES:
        if not (_is_int(value) or isinstance(value, float)):
            errors.append(f"{path}: double must be a JSON number, got {value!r}")
    elif ftype == F.TYPE_BOOL:
        if not isinstance(value, bool):
            errors.append(f"{path}: bool must be true/false, got {value!r}")
    elif ftype == F.TYPE_STRING:
        if not isinstance(value, str):
            errors.append(f"{path}: string expected, got {value!r}")
    elif ftype == F.TYPE_BYTES:
        return _check_bytes(value, field, path, errors)
    return value


def _check_bytes(value, field: FieldDescriptor, path: str, errors: list[str]):
    """Hex ids are converted to base64 because ParseDict only understands base64."""
    if not isinstance(value, str):
        errors.append(f"{path}: bytes must be a string, got {value!r}")
        return value
    length = _HEX_ID_LENGTHS.get(field.json_name)
    if length is None:
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            errors.append(f"{path}: bytes must be standard base64, got {value!r}")
        return value
    if value == "" and field.json_name in _EMPTY_ID_ALLOWED:
        return value
    if len(value) != length:
        errors.append(f"{path}: {field.json_name} must be {length} hex chars, got {len(value)}")
    elif not _LOWER_HEX_RE.fullmatch(value):
        errors.append(f"{path}: {field.json_name} must be lowercase hex, got {value!r}")
    elif value.strip("0") == "":
        errors.append(f"{path}: {field.json_name} must not be all zeros")
    else:
        return base64.b64encode(bytes.fromhex(value)).decode("ascii")
    return value


def _check_value(value, field: FieldDescriptor, path: str, errors: list[str]):
    if value is None:
        errors.append(f"{path}: null is not allowed")
        return None
    if field.type == F.TYPE_MESSAGE:
        return _walk(value, field.message_type, path, errors)
    return _check_scalar(value, field, path, errors)


def _check_duplicate_keys(items: list, path: str, errors: list[str]) -> None:
    seen = set()
    for item in items:
        key = item.get("key") if isinstance(item, dict) else None
        if isinstance(key, str):
            if key in seen:
                errors.append(f"{path}: duplicate attribute key {key!r}")
            seen.add(key)


def _walk(obj, desc: Descriptor, path: str, errors: list[str]):
    """Walk a JSON object alongside ``desc``; return a ParseDict-ready copy."""
    if not isinstance(obj, dict):
        errors.append(f"{path}: {desc.name} must be a JSON object, got {type(obj).__name__}")
        return obj
    by_json_name = {f.json_name: f for f in desc.fields}
    out = {}
    set_in_oneof: dict[str, list[str]] = {}
    for key, value in obj.items():
        field_path = f"{path}.{key}" if path else key
        field = by_json_name.get(key)
        if field is None:
            snake = desc.fields_by_name.get(key)
            if snake is not None:
                errors.append(f"{field_path}: snake_case key not allowed, use {snake.json_name!r}")
            else:
                errors.append(f"{field_path}: unknown field for {desc.full_name}")
            continue
        if field.containing_oneof is not None and value is not None:
            set_in_oneof.setdefault(field.containing_oneof.name, []).append(key)
        if not field.is_repeated or value is None:
            out[key] = _check_value(value, field, field_path, errors)
        elif not isinstance(value, list):
            errors.append(f"{field_path}: repeated field must be a JSON array")
        else:
            out[key] = [_check_value(v, field, f"{field_path}[{i}]", errors) for i, v in enumerate(value)]
            if field.message_type is _KEY_VALUE:
                _check_duplicate_keys(value, field_path, errors)
    for oneof, keys in set_in_oneof.items():
        if len(keys) > 1:
            errors.append(f"{path or desc.name}: more than one of oneof {oneof!r} set: {keys}")
    if desc is _ANY_VALUE and not set_in_oneof:
        errors.append(f"{path or desc.name}: AnyValue must have exactly one value field set")
    return out


def validate_json(obj, message_class) -> tuple[object | None, list[str]]:
    """Validate decoded OTLP JSON against ``message_class``.

    Returns (parsed protobuf message or None, list of error strings). The
    descriptor walk enforces the OTLP/JSON rules json_format is lenient about;
    ParseDict is then run as a final cross-check.
    """
    errors: list[str] = []
    converted = _walk(obj, message_class.DESCRIPTOR, "", errors)
    if errors:
        return None, errors
    message = message_class()
    try:
        json_format.ParseDict(converted, message, ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        return None, [f"json_format: {exc}"]
    return message, []


def _load_json(text: str, errors: list[str]):
    """json.loads that reports duplicate object keys and NaN/Infinity literals."""

    def pairs_hook(pairs):
        result = {}
        for key, value in pairs:
            if key in result:
                errors.append(f"duplicate JSON object key {key!r}")
            result[key] = value
        return result

    def reject_constant(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, object_pairs_hook=pairs_hook, parse_constant=reject_constant)


def validate_export(message_class, content_type: str | None, content_encoding: str | None, body: bytes) -> dict:
    """Decode and validate one export request body.

    Returns a dict with ``decoded_size``, ``json`` (decoded document or None),
    ``errors`` (list of strings) and ``message`` (protobuf message or None).
    """
    errors: list[str] = []
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        errors.append(f"Content-Type must be application/json, got {content_type!r}")

    is_gzip_data = body[:2] == b"\x1f\x8b"
    encoding = (content_encoding or "").strip().lower()
    payload = None
    if encoding == "gzip":
        if not is_gzip_data:
            errors.append("Content-Encoding: gzip but body is not gzip data")
        else:
            try:
                payload = gzip.decompress(body)
            except (OSError, EOFError, zlib.error) as exc:
                errors.append(f"gzip decompression failed: {exc}")
    elif encoding:
        errors.append(f"unsupported Content-Encoding {content_encoding!r}")
    elif is_gzip_data:
        errors.append("body is gzip data but Content-Encoding: gzip header is missing")
    else:
        payload = body

    result = {"decoded_size": None, "json": None, "errors": errors, "message": None}
    if payload is None:
        return result
    result["decoded_size"] = len(payload)
    try:
        doc = _load_json(payload.decode("utf-8"), errors)
    except (UnicodeDecodeError, ValueError) as exc:
        errors.append(f"invalid JSON: {exc}")
        return result
    result["json"] = doc
    message, schema_errors = validate_json(doc, message_class)
    errors.extend(schema_errors)
    if not errors:
        result["message"] = message
    return result


def count_items(signal: str, message) -> int:
    """Spans, metric data points or log records in a parsed export request."""
    if signal == "traces":
        return sum(len(ss.spans) for rs in message.resource_spans for ss in rs.scope_spans)
    if signal == "logs":
        return sum(len(sl.log_records) for rl in message.resource_logs for sl in rl.scope_logs)
    return sum(len(_data_points(m)) for m in _metrics(message))


def _metrics(message):
    return [m for rm in message.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]


def _data_points(metric):
    kind = metric.WhichOneof("data")
    return getattr(metric, kind).data_points if kind else []


# --------------------------------------------------------------------------
# --print summaries
# --------------------------------------------------------------------------


def _render_any(value: common_pb2.AnyValue) -> str:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return json.dumps(value.string_value, ensure_ascii=False)
    if kind == "bool_value":
        return "true" if value.bool_value else "false"
    if kind == "array_value":
        return "[" + ", ".join(_render_any(v) for v in value.array_value.values) + "]"
    if kind == "kvlist_value":
        return _render_attrs(value.kvlist_value.values) or "{}"
    if kind == "bytes_value":
        return "b64:" + base64.b64encode(value.bytes_value).decode("ascii")
    if kind is None:
        return "<empty>"
    return str(getattr(value, kind))


def _render_attrs(kvs) -> str:
    if not kvs:
        return ""
    return "{" + ", ".join(f"{kv.key}={_render_any(kv.value)}" for kv in kvs) + "}"


def _render_point(kind: str, point) -> str:
    if kind in ("gauge", "sum"):
        return str(getattr(point, point.WhichOneof("value") or "as_int"))
    parts = [f"count={point.count}", f"sum={point.sum:g}"]
    if kind == "histogram":
        if point.HasField("min"):
            parts.append(f"min={point.min:g}")
        if point.HasField("max"):
            parts.append(f"max={point.max:g}")
        parts.append(f"buckets={list(point.bucket_counts)}")
        parts.append(f"bounds={[float(b) for b in point.explicit_bounds]}")
    return " ".join(parts)


def summarize(signal: str, message, wire_size: int, gzipped: bool) -> str:
    """Human-readable multi-line summary of an accepted export request."""
    unit = {"traces": "spans", "metrics": "data points", "logs": "log records"}[signal]
    lines = [f"[{signal}] {wire_size} bytes on wire, gzip={'yes' if gzipped else 'no'}, "
             f"{count_items(signal, message)} {unit}"]
    if signal == "traces":
        for rs in message.resource_spans:
            for ss in rs.scope_spans:
                lines += [f"  span {span.name} {_render_attrs(span.attributes)}".rstrip() for span in ss.spans]
    elif signal == "metrics":
        for metric in _metrics(message):
            kind = metric.WhichOneof("data")
            for point in _data_points(metric):
                lines.append(f"  metric {metric.name} {kind} {_render_point(kind, point)} "
                             f"{_render_attrs(point.attributes)}".rstrip())
    else:
        for rl in message.resource_logs:
            for sl in rl.scope_logs:
                for rec in sl.log_records:
                    severity = rec.severity_text or logs_pb2.SeverityNumber.Name(rec.severity_number)
                    lines.append(f"  log {severity} {_render_any(rec.body)} {_render_attrs(rec.attributes)}".rstrip())
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# Scripted responses and shared state
# --------------------------------------------------------------------------


def parse_response_spec(spec) -> dict:
    """Validate a response spec and fill missing keys from the built-in default.

    Raises ValueError with a readable message on bad input, so typos in test
    scripts fail loudly instead of being ignored.
    """
    if not isinstance(spec, dict):
        raise ValueError(f"response spec must be an object, got {spec!r}")
    unknown = set(spec) - set(_BUILTIN_RESPONSE)
    if unknown:
        raise ValueError(f"unknown response spec keys {sorted(unknown)}")
    resp = {**copy.deepcopy(_BUILTIN_RESPONSE), **spec}
    if not _is_int(resp["status"]) or not 100 <= resp["status"] <= 599:
        raise ValueError(f"status must be an integer 100-599, got {resp['status']!r}")
    headers = resp["headers"]
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("headers must be an object of string values")
    if not isinstance(resp["body"], str):
        raise ValueError("body must be a string")
    if not _is_int(resp["delay_ms"]) or resp["delay_ms"] < 0:
        raise ValueError("delay_ms must be a non-negative integer")
    if not isinstance(resp["close"], bool):
        raise ValueError("close must be a boolean")
    if resp["path"] is not None and resp["path"] not in SIGNALS:
        raise ValueError(f"path must be one of {sorted(SIGNALS)}, got {resp['path']!r}")
    return resp


class ReceiverState:
    """Thread-safe records, response script (FIFO), default response and per-path defaults."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget all records, queued responses and any custom default."""
        with self._lock:
            self._records: list[dict] = []
            self._script: deque[dict] = deque()
            self._default = copy.deepcopy(_BUILTIN_RESPONSE)
            self._path_defaults: dict[str, dict] = {}

    def add_script(self, responses: list[dict], default: dict | None) -> int:
        """Queue responses (and optionally replace the default, or one path's default);
        return queue length."""
        with self._lock:
            self._script.extend(responses)
            if default is not None and default["path"] is not None:
                self._path_defaults[default["path"]] = default
            elif default is not None:
                self._default = default
            return len(self._script)

    def next_response(self, path: str) -> tuple[str, dict]:
        """Pop the first scripted response for any path or for ``path``, else return
        ``path``'s default, else the default."""
        with self._lock:
            for i, resp in enumerate(self._script):
                if resp["path"] in (None, path):
                    del self._script[i]
                    return "script", resp
            return "default", copy.deepcopy(self._path_defaults.get(path, self._default))

    def record(self, entry: dict) -> None:
        """Append one request record."""
        with self._lock:
            self._records.append(entry)

    def records(self) -> list[dict]:
        """Snapshot of all records so far."""
        with self._lock:
            return list(self._records)


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so SDK agents can keep connections alive, as against a collector.
    protocol_version = "HTTP/1.1"
    server: ReceiverServer

    def log_message(self, format, *args):  # noqa: A002 - name fixed by base class
        pass  # --print summarises requests on stdout; the access log would only repeat it

    def end_headers(self):
        origin = self.headers.get("Origin")
        if origin:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")
        super().end_headers()

    def do_OPTIONS(self):
        """A CORS preflight: grants POST and the allowed headers that were asked for."""
        asked = [h.strip().lower() for h in self.headers.get("Access-Control-Request-Headers", "").split(",")]
        granted = [h for h in asked if h in _CORS_ALLOWED_HEADERS]
        self.send_response(204)
        self.send_header("Access-Control-Allow-Methods", "POST, GET")
        if granted:
            self.send_header("Access-Control-Allow-Headers", ", ".join(granted))
        self.send_header("Access-Control-Max-Age", "600")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        path = urlsplit(self.path).path
        if path == "/_health":
            self._send(200, json.dumps({"status": "ok"}))
        elif path == "/_requests":
            self._send(200, json.dumps(self.server.state.records()))
        elif path in SIGNALS or path in ("/_script", "/_reset"):
            self._send(405, "method not allowed\n", "text/plain")
        else:
            self._send(404, "not found\n", "text/plain")

    def do_POST(self):
        arrival_ms = time.time() * 1000
        path = urlsplit(self.path).path
        try:
            body = self._read_body()
        except ValueError as exc:
            self.close_connection = True
            self._send(400, f"bad request body: {exc}\n", "text/plain")
            return
        if path in SIGNALS:
            self._handle_export(path, body, arrival_ms)
        elif path == "/_script":
            self._handle_script(body)
        elif path == "/_reset":
            self.server.state.reset()
            self._send(200, "{}")
        else:
            self._send(404, "not found\n", "text/plain")

    def _read_body(self) -> bytes:
        # Node streams gzip bodies with chunked encoding, which BaseHTTPRequestHandler doesn't decode.
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise ValueError(f"bad chunk size {size_line!r}") from None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # discard trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)  # CRLF after chunk data
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        if not length.isdigit():
            raise ValueError(f"bad Content-Length {length!r}")
        return self.rfile.read(int(length))

    def _handle_export(self, path: str, body: bytes, arrival_ms: float) -> None:
        signal, message_class = SIGNALS[path]
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        result = validate_export(message_class, headers.get("content-type"),
                                 headers.get("content-encoding"), body)
        errors = result["errors"]
        if errors:
            source, resp = "validation", {"status": 400, "close": False, "delay_ms": 0}
        else:
            source, resp = self.server.state.next_response(path)
        message = result["message"]
        self.server.state.record({
            "signal": signal,
            "path": path,
            "headers": headers,
            "content_encoding": headers.get("content-encoding"),
            "wire_size": len(body),
            "decoded_size": result["decoded_size"],
            "json": result["json"],
            "errors": errors,
            "arrival_ms": arrival_ms,
            "item_count": count_items(signal, message) if message is not None else None,
            "response": {"source": source, **resp},
        })
        if errors:
            text = "OTLP validation failed:\n" + "".join(f"- {e}\n" for e in errors)
            self._send(400, text, "text/plain; charset=utf-8")
            return
        if self.server.print_mode:
            gzipped = (headers.get("content-encoding") or "").lower() == "gzip"
            self.server.emit(summarize(signal, message, len(body), gzipped))
        self._send_scripted(resp)

    def _handle_script(self, body: bytes) -> None:
        try:
            doc = json.loads(body or b"{}")
            if not isinstance(doc, dict) or set(doc) - {"responses", "default"}:
                raise ValueError('body must be {"responses": [...], "default": {...}}')
            raw = doc.get("responses", [])
            if not isinstance(raw, list):
                raise ValueError("responses must be an array")
            responses = [parse_response_spec(r) for r in raw]
            default = parse_response_spec(doc["default"]) if "default" in doc else None
        except ValueError as exc:
            self._send(400, f"bad script: {exc}\n", "text/plain")
            return
        queued = self.server.state.add_script(responses, default)
        self._send(200, json.dumps({"queued": queued}))

    def _send_scripted(self, resp: dict) -> None:
        if resp["delay_ms"]:
            time.sleep(resp["delay_ms"] / 1000)
        if resp["close"]:
            # Returning without writing makes the server close the socket: the client sees a hang-up.
            self.close_connection = True
            return
        data = resp["body"].encode("utf-8")
        self.send_response(resp["status"])
        for name, value in resp["headers"].items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send(self, status: int, text: str, content_type: str = "application/json") -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class ReceiverServer(ThreadingHTTPServer):
    """Threaded HTTP server bound to 127.0.0.1 that owns the receiver state."""

    def handle_error(self, request, client_address):
        # A client that gave up (timeout tests) hangs up mid-answer: expected, not news.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            return
        super().handle_error(request, client_address)

    def __init__(self, port: int, print_mode: bool):
        super().__init__(("127.0.0.1", port), _Handler)
        self.state = ReceiverState()
        self.print_mode = print_mode
        self._stdout_lock = threading.Lock()

    def emit(self, text: str) -> None:
        """Write ``text`` to stdout atomically with respect to other handler threads."""
        with self._stdout_lock:
            sys.stdout.write(text)
            sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, announce the port and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral)")
    parser.add_argument("--print", action="store_true", dest="print_mode",
                        help="print a summary of each accepted request and log requests to stderr")
    args = parser.parse_args(argv)
    server = ReceiverServer(args.port, args.print_mode)
    print(f"LISTENING {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
