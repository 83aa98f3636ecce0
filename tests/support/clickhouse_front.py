#!/usr/bin/env python3
"""A small HTTP front that speaks ClickHouse's HTTP interface, backed by embedded chdb.

Test support for end-to-end tests of a telemetry SDK that inserts rows straight into
ClickHouse. It binds 127.0.0.1 only, creates a chdb session in a temporary directory
(deleted at exit), applies clickhouse_schema.sql (beside this script) and prints
``LISTENING <port>`` once ready.

ClickHouse side (path ``/``):
  * ``POST /?query=INSERT INTO t FORMAT JSONEachRow`` with the rows as the body
    (``Content-Encoding: gzip`` or ``deflate`` accepted; chunked bodies accepted).
    ClickHouse's lenient JSON input is switched off for every INSERT (STRICT_INSERT_SETTINGS).
  * ``GET``/``POST`` of other queries (query param and/or body) answered in the query's
    FORMAT (default TabSeparated, or ``default_format`` / ``X-ClickHouse-Format``).
    GET is read-only, as in ClickHouse.
  * Other URL parameters are passed on as ClickHouse settings, ``param_*`` as query
    parameters, ``database`` (or ``X-ClickHouse-Database``) selects the default database.
  * User ``default`` with the ``--password`` password, given by Basic auth,
    X-ClickHouse-User/X-ClickHouse-Key headers or user/password parameters.
  * Errors are ClickHouse's: ``Code: N. DB::Exception: ... (NAME) (version V)`` with
    ``X-ClickHouse-Exception-Code`` and the status of ClickHouse's exceptionCodeToHTTPStatus.
  * ``GET /ping`` and ``GET /`` answer ``Ok.``.

Test control:
  * ``POST /_inject`` ``{"code": 252, "status": 500, "message": "...", "count": 1, "delay_ms": 0}``:
    the next ``count`` INSERTs wait ``delay_ms`` and then fail with that code without
    inserting. Without ``code`` they are only delayed. ``status`` defaults to the mapping.
  * ``POST /_reset``: clears injections and the request log, TRUNCATEs the three tables.
  * ``GET /_requests``: JSON list of the ClickHouse requests received since the last reset.

Usage: python3 clickhouse_front.py [--port N] [--password PW] [--print]
"""

import argparse
import base64
import binascii
import gzip
import hmac
import json
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import chdb
from chdb import session as chdb_session

SCHEMA_PATH = Path(__file__).resolve().with_name("clickhouse_schema.sql")
TABLES = ("telemetry.traces", "telemetry.metrics", "telemetry.logs")
USER = "default"

# ClickHouse accepts these loosely by default (numbers/bools/objects/arrays into String
# columns, unknown fields skipped, null -> default); off, so the SDK must send exact types.
STRICT_INSERT_SETTINGS = {
    "input_format_skip_unknown_fields": "0",
    "input_format_json_read_numbers_as_strings": "0",
    "input_format_json_read_bools_as_strings": "0",
    "input_format_json_read_bools_as_numbers": "0",
    "input_format_json_read_objects_as_strings": "0",
    "input_format_json_read_arrays_as_strings": "0",
    "input_format_null_as_default": "0",
}

# URL parameters the HTTP interface consumes itself; every other one is a setting.
NON_SETTING_PARAMS = {
    "query", "user", "password", "database", "default_format", "query_id", "session_id",
    "session_timeout", "session_check", "compress", "decompress", "quota_key",
    "buffer_size", "wait_end_of_query", "role",
}

# ClickHouse src/Server/HTTP/exceptionCodeToHTTPStatus.cpp, keyed by error name
# (numbers come from the engine's errorCodeToName); anything else is 500.
_STATUS_GROUPS = {
    401: ("REQUIRED_PASSWORD",),
    403: ("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE",
          "ACCESS_DENIED"),
    400: ("BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
          "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
          "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
          "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
          "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
          "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
          "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
          "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"),
    404: ("UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
          "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING",
          "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT",
          "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"),
    413: ("QUERY_IS_TOO_LARGE",),
    501: ("NOT_IMPLEMENTED",),
    503: ("SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"),
    411: ("HTTP_LENGTH_REQUIRED",),
    408: ("TIMEOUT_EXCEEDED",),
    415: ("UNSUPPORTED_MEDIA_TYPE",),
}
STATUS_BY_NAME = {name: status for status, names in _STATUS_GROUPS.items() for name in names}

# Codes this front raises itself (stable ClickHouse numbers).
SYNTAX_ERROR, NOT_IMPLEMENTED, READONLY = 62, 48, 164
ZLIB_INFLATE_FAILED, AUTHENTICATION_FAILED, STD_EXCEPTION = 354, 516, 1001

_CHDB_ERROR_RE = re.compile(r"\ACode: (\d+)\. DB::Exception: (.*)\Z", re.S)
# One trailing "(NAME)" or "(version ...)" decoration, which the front re-adds once.
_DECORATION_RE = re.compile(r"\s*\((?:[A-Z][A-Z0-9_]*|version [^()]*(?:\([^()]*\))?)\)\.?\s*\Z")
_INSERT_RE = re.compile(r"\A\s*(INSERT\s+INTO\s.*?)\s+(FORMAT\s+(\w+)|VALUES)\b(.*)\Z", re.I | re.S)
_TABLE_RE = re.compile(r"INSERT\s+INTO\s+(?:TABLE\s+)?([\w.`\"]+)", re.I)
_FORMAT_RE = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*\Z", re.I)
_WHITESPACE_RE = re.compile(r"\s*")
_READ_ONLY_RE = re.compile(r"\A[\s(]*(SELECT|WITH|SHOW|DESCRIBE|DESC|EXISTS|EXPLAIN)\b", re.I)

AUTH_FAILED_HINT = (
    "\n\nIf you have installed ClickHouse and forgot password you can reset it in the configuration file.\n"
    "The password for default user is typically located at /etc/clickhouse-server/users.d/default-password.xml\n"
    "and deleting this file will reset the password.\n"
    "See also /etc/clickhouse-server/users.xml on the server where ClickHouse is installed.\n\n"
)


class ClickHouseError(Exception):
    """A ClickHouse exception: its code, its message and optionally a forced HTTP status."""

    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class Engine:
    """The chdb session plus what is needed to answer like a ClickHouse server."""

    def __init__(self, path):
        self._session = chdb_session.Session(path)
        # Serialized: one statement at a time, and USE <database> must not leak across requests.
        self._lock = threading.Lock()
        for statement in re.split(r";\s*$", SCHEMA_PATH.read_text(), flags=re.M):
            if re.sub(r"--[^\n]*", "", statement).strip():
                self._session.query(statement)
        self.version = self._scalar("SELECT version()")
        self.timezone = self._scalar("SELECT timezone()")
        rows = self._session.query(
            "SELECT number, errorCodeToName(number) FROM numbers(3000) "
            "WHERE errorCodeToName(number) != ''", "JSONCompactEachRow").bytes()
        self.error_names = dict(json.loads(line) for line in rows.splitlines())

    def _scalar(self, sql):
        return self._session.query(sql, "TabSeparated").bytes().decode().strip()

    def execute(self, statement, fmt, params=None, database=None):
        """Run one statement (under the lock); chdb errors become ClickHouseError."""
        with self._lock:
            try:
                if database:
                    self._session.query(f"USE {quote_identifier(database)}")
                try:
                    return self._session.query(statement, fmt, params=params or None)
                finally:
                    if database:
                        self._session.query("USE default")
            except chdb.ChdbError as exc:
                raise self.parse_error(str(exc)) from None

    def truncate_tables(self):
        for table in TABLES:
            self.execute(f"TRUNCATE TABLE {table}", "TabSeparated")

    def close(self):
        self._session.close()

    @staticmethod
    def parse_error(text):
        """Turn chdb's exception text into code + bare message.

        chdb omits the server's "(version ...)" suffix, and some errors come wrapped twice
        ("Code: 115. DB::Exception: Code: 115. DB::Exception: ... (version V). (NAME)").
        """
        match = _CHDB_ERROR_RE.match(text.strip())
        if not match:
            return ClickHouseError(STD_EXCEPTION, text.strip())
        code, message = int(match[1]), match[2]
        inner_prefix = f"Code: {code}. DB::Exception: "
        while True:
            stripped = _DECORATION_RE.sub("", message)
            if stripped.startswith(inner_prefix):
                stripped = stripped[len(inner_prefix):]
            if stripped == message:
                return ClickHouseError(code, message)
            message = stripped

    def status_for(self, error):
        return error.status or STATUS_BY_NAME.get(self.error_names.get(error.code), 500)

    def render(self, error):
        """The error body exactly as clickhouse-server writes it."""
        text = error.message if error.message.endswith(".") else error.message + "."
        name = self.error_names.get(error.code)
        decoration = f" ({name})" if name else ""
        return f"Code: {error.code}. DB::Exception: {text}{decoration} (version {self.version})\n"


def quote_identifier(name):
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def settings_clause(settings):
    """`k=v, ...` with non-numeric values quoted as ClickHouse string literals."""
    def literal(value):
        if re.fullmatch(r"-?\d+(\.\d+)?", value):
            return value
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return ", ".join(f"{name}={literal(value)}" for name, value in settings.items())


def decode_body(raw, content_encoding):
    """Undo Content-Encoding the way ClickHouse's HTTP handler does (gzip/deflate here)."""
    method = content_encoding.strip().lower()
    if method in ("", "identity", "none"):
        return raw
    try:
        if method in ("gzip", "x-gzip"):
            return gzip.decompress(raw)
        if method == "deflate":
            return zlib.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise ClickHouseError(ZLIB_INFLATE_FAILED, f"inflate failed: {exc}") from None
    if method in ("br", "xz", "zstd", "lz4", "bz2", "snappy"):
        raise ClickHouseError(NOT_IMPLEMENTED,
                              f"Content-Encoding '{method}' is valid for ClickHouse but not supported by this test front")
    raise ClickHouseError(NOT_IMPLEMENTED, (
        f"Unknown compression method '{method}'. Only 'auto', 'none', 'gzip', 'deflate', 'br', "
        "'xz', 'zstd', 'lz4', 'bz2', 'snappy' are supported as compression methods"))


def credentials(headers, params):
    """(user, password) by ClickHouse's rules, including its ban on mixing methods."""
    def mixed(first, second):
        return ClickHouseError(AUTHENTICATION_FAILED,
                               f"Invalid authentication: it is not allowed to use {first} and {second} simultaneously")

    def empty_user(method):
        return ClickHouseError(AUTHENTICATION_FAILED, f"Got an empty user name from {method}")

    header_user = headers.get("X-ClickHouse-User", "")
    header_key = headers.get("X-ClickHouse-Key", "")
    authorization = headers.get("Authorization")
    in_params = "user" in params or "password" in params
    if header_user or header_key:
        if not header_user:
            raise empty_user("X-ClickHouse HTTP headers")
        if authorization:
            raise mixed("X-ClickHouse HTTP headers", "Authorization HTTP header")
        if in_params:
            raise mixed("X-ClickHouse HTTP headers", "authentication via parameters")
        return header_user, header_key
    if authorization:
        if in_params:
            raise mixed("Authorization HTTP header", "authentication via parameters")
        scheme, _, info = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            raise ClickHouseError(AUTHENTICATION_FAILED,
                                  f"Invalid authentication: '{scheme}' HTTP Authorization scheme is not supported")
        try:
            user, _, password = base64.b64decode(info.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise ClickHouseError(AUTHENTICATION_FAILED, "Invalid authentication: malformed Basic credentials") from None
        if not user:
            raise empty_user("Authorization HTTP header")
        return user, password
    user = params.get("user", "default")
    if not user:
        raise empty_user("authentication via parameters")
    return user, params.get("password", "")


def insert_table(text):
    """The target table of an INSERT statement, unquoted; None for other statements."""
    match = _TABLE_RE.match(text.strip())
    return match[1].replace("`", "").replace('"', "") if match else None


def parse_json_rows(text):
    """Rows of a JSONEachRow body (objects one after another, or a JSON array); None if not JSON."""
    decoder, rows, position = json.JSONDecoder(), [], 0
    try:
        while True:
            position = _WHITESPACE_RE.match(text, position).end()
            if position >= len(text):
                return rows
            value, position = decoder.raw_decode(text, position)
            rows.extend(value if isinstance(value, list) else [value])
    except ValueError:
        return None


def compact_row(row):
    """One short line per row: non-empty fields only, truncated."""
    if not isinstance(row, dict):
        return json.dumps(row)[:240]
    shown = {key: value for key, value in row.items() if value not in ("", 0, None, [], {})}
    line = json.dumps(shown, separators=(",", ":"), ensure_ascii=False)
    return line if len(line) <= 240 else line[:239] + "…"


def content_type(fmt):
    if fmt.lower().startswith("json"):
        return "application/json; charset=UTF-8"
    if fmt.lower().startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    return "text/plain; charset=UTF-8"


class Front:
    """State shared by request threads: engine, password, injections, request log."""

    def __init__(self, engine, password, print_inserts):
        self.engine = engine
        self.password = password
        self.print_inserts = print_inserts
        self._state_lock = threading.Lock()
        self._injection = None
        self._requests = []

    def inject(self, spec):
        with self._state_lock:
            self._injection = spec

    def take_injection(self):
        """The injection for this INSERT, if any remains (each INSERT uses one)."""
        with self._state_lock:
            if not self._injection or self._injection["count"] <= 0:
                return None
            self._injection["count"] -= 1
            return dict(self._injection)

    def reset(self):
        with self._state_lock:
            self._injection = None
            self._requests.clear()
        self.engine.truncate_tables()

    def record(self, entry):
        with self._state_lock:
            self._requests.append(entry)

    def recorded(self):
        with self._state_lock:
            return list(self._requests)

    def authenticate(self, headers, params):
        user, password = credentials(headers, params)
        if user != USER or not hmac.compare_digest(password.encode(), self.password.encode()):
            message = f"{user}: Authentication failed: password is incorrect, or there is no user with such name."
            if user == USER:
                message += AUTH_FAILED_HINT
            raise ClickHouseError(AUTHENTICATION_FAILED, message)
        return user


class Handler(BaseHTTPRequestHandler):
    """One HTTP request: control endpoints, health checks, or a ClickHouse query."""

    protocol_version = "HTTP/1.1"  # keep-alive, as Node clients expect
    server_version = "chdb-front"
    front: Front  # set on the subclass built in main()

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler signature
        """Silenced: --print is the log."""

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        raw = self._read_body()
        if url.path == "/_inject" and self.command == "POST":
            self._control_inject(raw)
        elif url.path == "/_reset" and self.command == "POST":
            self.front.reset()
            self._send(200, b'{"ok":true}\n', {"Content-Type": "application/json"})
        elif url.path == "/_requests" and self.command == "GET":
            body = json.dumps(self.front.recorded(), indent=1).encode()
            self._send(200, body, {"Content-Type": "application/json"})
        elif url.path == "/ping" or (url.path == "/" and self.command == "GET" and "query" not in params):
            self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
        elif url.path == "/":
            self._clickhouse(params, raw)
        else:
            self._send(404, f"There is no handle {url.path}\n".encode(), {"Content-Type": "text/plain; charset=UTF-8"})

    def _control_inject(self, raw):
        try:
            spec = json.loads(raw or b"{}")
            injection = {
                "code": None if spec.get("code") is None else int(spec["code"]),
                "status": None if spec.get("status") is None else int(spec["status"]),
                "message": str(spec.get("message") or "Injected failure"),
                "count": int(spec.get("count", 1)),
                "delay_ms": int(spec.get("delay_ms", 0)),
                # Commit the INSERT, then hold the answer this long (a client timeout
                # meanwhile sees no answer although the rows landed).
                "withhold_ms": int(spec.get("withhold_ms", 0)),
            }
        except (ValueError, TypeError, AttributeError) as exc:
            self._send(400, json.dumps({"error": str(exc)}).encode(), {"Content-Type": "application/json"})
            return
        self.front.inject(injection)
        self._send(200, json.dumps({"ok": True, "injection": injection}).encode(), {"Content-Type": "application/json"})

    def _read_body(self):
        """The raw request body, de-chunked if Transfer-Encoding: chunked."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline(65537).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailer headers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _clickhouse(self, params, raw):
        engine = self.front.engine
        query_param = params.get("query", "")
        entry = {
            "method": self.command,
            "path": self.path.split("?", 1)[0],
            "query": query_param,
            "params": {k: ("<redacted>" if k == "password" else v) for k, v in params.items() if k != "query"},
            "headers": {k.lower(): ("<redacted>" if k.lower() in ("authorization", "x-clickhouse-key") else v)
                        for k, v in self.headers.items()},
            "content_encoding": self.headers.get("Content-Encoding"),
            "wire_bytes": len(raw),
            "decoded_bytes": None,
            "table": insert_table(query_param),
            "rows": None,
            "status": None,
            "exception_code": None,
        }
        query_id = params.get("query_id") or str(uuid.uuid4())
        headers = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Server-Display-Name": "chdb-front",
                   "X-ClickHouse-Timezone": engine.timezone}
        rows = None
        try:
            user = self.front.authenticate(self.headers, params)
            body = decode_body(raw, self.headers.get("Content-Encoding", ""))
            entry["decoded_bytes"] = len(body)
            text = "\n".join(part for part in (query_param, body.decode("utf-8", "replace")) if part)
            if not text.strip():
                raise ClickHouseError(SYNTAX_ERROR, "Empty query")
            if self.command == "GET" and not _READ_ONLY_RE.match(text):
                raise ClickHouseError(READONLY, (
                    f"{user}: Cannot execute query in readonly mode. For queries over HTTP, method GET "
                    "implies readonly. You should use method POST for modifying queries"))
            statement, fmt, rows = self._statement(text, params, entry)
            injection = self._apply_injection() if entry["table"] is not None else None
            result = engine.execute(statement, fmt, params={k[6:]: v for k, v in params.items()
                                                            if k.startswith("param_")},
                                    database=params.get("database") or self.headers.get("X-ClickHouse-Database"))
            if injection and injection["withhold_ms"]:
                time.sleep(injection["withhold_ms"] / 1000)
            summary = {"read_rows": result.rows_read(), "read_bytes": result.bytes_read(),
                       "written_rows": result.rows_written(), "written_bytes": result.bytes_written(),
                       "total_rows_to_read": result.rows_read(), "elapsed_ns": int(result.elapsed() * 1e9)}
            headers.update({"X-ClickHouse-Format": fmt, "Content-Type": content_type(fmt),
                            "X-ClickHouse-Summary": json.dumps({k: str(v) for k, v in summary.items()},
                                                               separators=(",", ":"))})
            self._finish(entry, 200, result.bytes(), headers, rows)
        except Exception as exc:  # every failure must still be answered as ClickHouse would
            error = exc if isinstance(exc, ClickHouseError) else ClickHouseError(STD_EXCEPTION, repr(exc))
            entry["exception_code"] = error.code
            headers.update({"X-ClickHouse-Exception-Code": str(error.code),
                            "Content-Type": "text/plain; charset=UTF-8"})
            self._finish(entry, engine.status_for(error), engine.render(error).encode(), headers, rows)

    def _statement(self, text, params, entry):
        """(statement for chdb, output format, parsed JSON rows) for the query text.

        INSERT ... FORMAT F / VALUES gets the client's URL settings plus the strict JSON
        settings spliced in before FORMAT, so the data part stays untouched.
        """
        client_settings = {k: v for k, v in params.items()
                           if k not in NON_SETTING_PARAMS and not k.startswith("param_")}
        default_fmt = params.get("default_format") or self.headers.get("X-ClickHouse-Format") or "TabSeparated"
        insert = _INSERT_RE.match(text)
        if insert:
            head, keyword, input_fmt, data = insert.groups()
            entry["table"] = insert_table(head) or head
            entry["query"] = f"{head} {keyword}"
            rows = parse_json_rows(data) if input_fmt and input_fmt.upper().startswith("JSON") else None
            entry["rows"] = None if rows is None else len(rows)
            settings = settings_clause({**client_settings, **STRICT_INSERT_SETTINGS})
            joiner = ", " if re.search(r"\bSETTINGS\b", head, re.I) else " SETTINGS "
            return f"{head}{joiner}{settings} {keyword}{data}", default_fmt, rows
        entry["query"] = text
        statement = text.rstrip().rstrip(";")
        if client_settings:
            statement += " SETTINGS " + settings_clause(client_settings)
        out_fmt = _FORMAT_RE.search(text.rstrip().rstrip(";"))
        return statement, out_fmt[1] if out_fmt else default_fmt, None

    def _apply_injection(self):
        """Takes this INSERT's injection, if any: waits, fails, or hands it back so the
        answer can be withheld after the commit."""
        injection = self.front.take_injection()
        if not injection:
            return None
        time.sleep(injection["delay_ms"] / 1000)
        if injection["code"] is not None:
            raise ClickHouseError(injection["code"], injection["message"], injection["status"])
        return injection

    def _finish(self, entry, status, body, headers, rows):
        entry["status"] = status
        self.front.record(entry)
        if self.front.print_inserts and entry["table"] is not None:
            self._print_insert(entry, rows)
        self._send(status, body, headers)

    @staticmethod
    def _print_insert(entry, rows):
        gzipped = (entry["content_encoding"] or "").lower() in ("gzip", "x-gzip")
        size = f"{entry['wire_bytes']}" + (f" ({entry['decoded_bytes']} decoded)" if gzipped else "")
        code = f" code={entry['exception_code']}" if entry["exception_code"] is not None else ""
        rows_in_body = "?" if entry["rows"] is None else entry["rows"]
        lines = [f"INSERT {entry['table']} rows={rows_in_body} bytes={size} "
                 f"gzip={'yes' if gzipped else 'no'} status={entry['status']}{code}"]
        if entry["status"] == 200 and rows:
            lines += [f"  {compact_row(row)}" for row in rows[:5]]
            if len(rows) > 5:
                lines.append(f"  … {len(rows) - 5} more")
        print("\n".join(lines), flush=True)

    def _send(self, status, body, headers):
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up waiting: nobody to answer


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = ephemeral)")
    parser.add_argument("--password", default="", help="password of user 'default' (default: empty)")
    parser.add_argument("--print", dest="print_inserts", action="store_true",
                        help="print one line per INSERT plus up to 5 rows")
    args = parser.parse_args()

    # SIGTERM must unwind through the finally blocks so the temp directory is removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with tempfile.TemporaryDirectory(prefix="chdb-front-") as data_dir:
        engine = Engine(data_dir)
        try:
            handler = type("BoundHandler", (Handler,), {"front": Front(engine, args.password, args.print_inserts)})
            with ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
                print(f"LISTENING {server.server_address[1]}", flush=True)
                try:
                    server.serve_forever()
                except KeyboardInterrupt:
                    pass
        finally:
            engine.close()


if __name__ == "__main__":
    main()
