#!/usr/bin/python3
"""A strict local emulator of Google's OAuth 2.0 token endpoint and of the
Compute Engine v1 API, for tests (Google cannot be reached from here).

    gce_emulator.py --service-account EMAIL=PUBLIC_KEY.pem --dmachine build/dmachine
                    [--port 0] [--port-file F] [--project example-project] [--no-hosts]

POST /token exchanges an RS256 JWT assertion signed by a configured service
account (checked with its PUBLIC key) or a refresh token of a configured
authorized user for an opaque access token. /compute/v1/projects/... needs
`Authorization: Bearer <token>` with a compute scope. Instances are real
hosts: machines of dmachine's local driver in a private store. Test hooks
under /_emulator/ (no auth; the server listens on 127.0.0.1 only). See
README.md next to this file. Standard library plus python3-cryptography.
"""

import argparse
import http.server
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gce_common  # noqa: E402
import gce_compute  # noqa: E402
import gce_hosts  # noqa: E402
import gce_oauth  # noqa: E402
import gce_schema  # noqa: E402
from gce_common import ApiError  # noqa: E402

_MAX_BODY = 1 << 20
_UNAUTHENTICATED = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_STANDARD_QUERY = {"alt", "fields", "key", "prettyPrint", "quotaUser", "userIp",
                   "$.xgafv", "upload_protocol", "uploadType", "callback"}
_LIST_QUERY = {"filter", "maxResults", "orderBy", "pageToken", "returnPartialSuccess"}

P = r"projects/(?P<project>[^/]+)"
Z = P + r"/zones/(?P<zone>[^/]+)"
# (HTTP method, path regex under /compute/v1/, method name, allowed query, write?)
ROUTES = [
    ("POST", Z + r"/instances", "instances.insert",
     {"requestId", "sourceInstanceTemplate", "sourceMachineImage"}, True),
    ("GET", Z + r"/instances", "instances.list", _LIST_QUERY, False),
    ("GET", P + r"/aggregated/instances", "instances.aggregatedList",
     _LIST_QUERY | {"includeAllScopes", "serviceProjectNumber"}, False),
    ("GET", Z + r"/instances/(?P<name>[^/]+)", "instances.get", set(), False),
    ("DELETE", Z + r"/instances/(?P<name>[^/]+)", "instances.delete", {"requestId"}, True),
    ("POST", Z + r"/instances/(?P<name>[^/]+)/start", "instances.start", {"requestId"}, True),
    ("POST", Z + r"/instances/(?P<name>[^/]+)/stop", "instances.stop",
     {"requestId", "discardLocalSsd"}, True),
    ("POST", Z + r"/instances/(?P<name>[^/]+)/reset", "instances.reset", {"requestId"}, True),
    ("POST", Z + r"/instances/(?P<name>[^/]+)/setMetadata", "instances.setMetadata",
     {"requestId"}, True),
    ("POST", Z + r"/instances/(?P<name>[^/]+)/setTags", "instances.setTags", {"requestId"},
     True),
    ("GET", Z + r"/operations/(?P<op>[^/]+)", "zoneOperations.get", set(), False),
    ("POST", Z + r"/operations/(?P<op>[^/]+)/wait", "zoneOperations.wait", set(), False),
    ("POST", P + r"/global/firewalls", "firewalls.insert", {"requestId"}, True),
    ("GET", P + r"/global/firewalls", "firewalls.list", _LIST_QUERY, False),
    ("GET", P + r"/global/firewalls/(?P<name>[^/]+)", "firewalls.get", set(), False),
    ("DELETE", P + r"/global/firewalls/(?P<name>[^/]+)", "firewalls.delete", {"requestId"},
     True),
    ("PATCH", P + r"/global/firewalls/(?P<name>[^/]+)", "firewalls.patch", {"requestId"},
     True),
    ("GET", P + r"/global/operations/(?P<op>[^/]+)", "globalOperations.get", set(), False),
    ("POST", P + r"/global/operations/(?P<op>[^/]+)/wait", "globalOperations.wait", set(),
     False),
    ("GET", Z, "zones.get", set(), False),
    ("GET", Z + r"/machineTypes/(?P<name>[^/]+)", "machineTypes.get", set(), False),
    ("GET", P + r"/global/networks/(?P<name>[^/]+)", "networks.get", set(), False),
    ("GET", P + r"/global/images/family/(?P<name>[^/]+)", "images.getFromFamily", set(),
     False),
    ("GET", P + r"/global/images/(?P<name>[^/]+)", "images.get", set(), False),
]
ROUTES = [(m, re.compile(p), n, q | _STANDARD_QUERY, w) for m, p, n, q, w in ROUTES]
_REQUEST_SCHEMA = {"instances.insert": "Instance", "instances.setMetadata": "Metadata",
                   "instances.setTags": "Tags", "firewalls.insert": "Firewall",
                   "firewalls.patch": "Firewall"}


class Emulator:
    """Authentication, dispatch, statistics and injected errors."""

    def __init__(self, tokens, compute, schemas, log=print):
        self.tokens = tokens
        self.compute = compute
        self.schemas = schemas
        self.log = log
        self.lock = threading.Lock()
        self.calls = {}
        self.http_errors = {}
        self.throttles = []     # [{"action", "code", "count", "message"}]

    # ------------------------------------------------------------ stats / injections
    def count(self, method):
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def count_error(self, method, code):
        with self.lock:
            key = "%s %d" % (method, code)
            self.http_errors[key] = self.http_errors.get(key, 0) + 1

    def stats(self):
        with self.lock:
            return {"calls": dict(self.calls), "errors": dict(self.http_errors),
                    "tokens": self.tokens.stats(),
                    "injections": [dict(t) for t in self.throttles if t["count"] > 0] +
                    [dict(e, action="instances.insert")
                     for e in self.compute.injected_op_errors if e["count"] > 0] +
                    [{"action": "instances.insert", "code": f, "count": 1}
                     for f in self.compute.boot_faults]}

    def inject(self, data):
        action = data.get("action", "*")
        code = data.get("code")
        count = int(data.get("count", 1))
        if count < 1:
            raise ValueError("count must be at least 1")
        message = data.get("message")
        if isinstance(code, int) and not isinstance(code, bool):
            if code not in (403, 429, 500, 503):
                raise ValueError("HTTP code must be 403, 429, 500 or 503")
            with self.lock:
                self.throttles.append({"action": action, "code": code, "count": count,
                                       "message": message})
        elif code in ("NO_GUEST_AGENT", "NO_SSH") and action == "instances.insert":
            with self.compute.lock:
                self.compute.boot_faults += [code] * count
        elif isinstance(code, str) and re.fullmatch(r"[A-Z_]+", code) and \
                action == "instances.insert":
            http = {"QUOTA_EXCEEDED": (403, "FORBIDDEN"),
                    "ZONE_RESOURCE_POOL_EXHAUSTED": (503, "SERVICE UNAVAILABLE")}
            status, text = http.get(code, (int(data.get("http", 400)),
                                           data.get("http_message", "BAD REQUEST")))
            if code == "ZONE_RESOURCE_POOL_EXHAUSTED" and not message:
                message = ("The zone does not have enough resources available to fulfill "
                           "the request.  Try a different zone, or try again later.")
            with self.compute.lock:
                self.compute.injected_op_errors.append(
                    {"code": code, "count": count, "message": message, "http": status,
                     "http_message": text})
        else:
            raise ValueError("code must be an HTTP status (403, 429, 500, 503) for any "
                             "action, or an operation error code (QUOTA_EXCEEDED, "
                             "ZONE_RESOURCE_POOL_EXHAUSTED, ...), NO_GUEST_AGENT or NO_SSH for "
                             "action instances.insert")

    def _take_throttle(self, method):
        with self.lock:
            for t in self.throttles:
                if t["count"] > 0 and t["action"] in ("*", method):
                    t["count"] -= 1
                    return t
        return None

    # ------------------------------------------------------------ control endpoints
    def control(self, method, path, body):
        try:
            data = json.loads(body or b"{}") if method == "POST" else {}
            if not isinstance(data, dict):
                raise ValueError
        except ValueError:
            return 400, {"error": "body must be a JSON object"}
        if path == "/_emulator/stats" and method == "GET":
            return 200, self.stats()
        if path == "/_emulator/stats/reset" and method == "POST":
            with self.lock:
                self.calls.clear()
                self.http_errors.clear()
            return 200, {"ok": True}
        if path == "/_emulator/state" and method == "GET":
            state = self.compute.dump()
            state["tokens_issued"] = self.tokens.stats()["issued"]
            state["tokens_live"] = self.tokens.stats()["live"]
            return 200, state
        if path == "/_emulator/inject" and method == "POST":
            try:
                self.inject(data)
            except (ValueError, TypeError) as exc:
                return 400, {"error": str(exc)}
            return 200, {"ok": True, "injections": self.stats()["injections"]}
        if path == "/_emulator/inject/clear" and method == "POST":
            with self.lock:
                self.throttles = []
            with self.compute.lock:
                self.compute.injected_op_errors = []
                self.compute.boot_faults = []
            return 200, {"ok": True}
        if path == "/_emulator/clock" and method == "POST":
            try:
                self.tokens.offset = float(data.get("offset_seconds", 0))
            except (TypeError, ValueError):
                return 400, {"error": "offset_seconds must be a number"}
            return 200, {"ok": True, "offset_seconds": self.tokens.offset}
        if path == "/_emulator/health" and method == "GET":
            return 200, {"ok": True, "token_uri": self.tokens.token_uri}
        return 404, {"error": "no such endpoint", "endpoints": [
            "GET /_emulator/stats", "POST /_emulator/stats/reset", "GET /_emulator/state",
            "POST /_emulator/inject", "POST /_emulator/inject/clear", "POST /_emulator/clock",
            "GET /_emulator/health"]}

    # ------------------------------------------------------------ Compute
    def authenticate(self, headers, write):
        auth = headers.get("Authorization") or ""
        m = re.fullmatch(r"Bearer ([A-Za-z0-9._~+/-]+=*)", auth.strip())
        token = self.tokens.lookup(m.group(1)) if m else None
        if token is None:
            raise ApiError(401, "authError", _UNAUTHENTICATED, status="UNAUTHENTICATED",
                           extra={"message": "Invalid Credentials",
                                  "location": "Authorization", "locationType": "header"})
        allowed = gce_common.SCOPE_WRITE if write else gce_common.SCOPE_READ
        if not set(token.scopes) & set(allowed):
            raise ApiError(403, "insufficientPermissions",
                           "Request had insufficient authentication scopes.",
                           status="PERMISSION_DENIED",
                           extra={"message": "Insufficient Permission"})
        return token

    def compute_call(self, method, path, query, headers, body):
        """(status, JSON) for /compute/v1/...; raises nothing."""
        rest = path[len("/compute/v1/"):]
        route = None
        path_known = False
        for m, rx, name, allowed, write in ROUTES:
            match = rx.fullmatch(rest)
            if match:
                path_known = True
                if m == method:
                    route = (name, match.groupdict(), allowed, write)
                    break
        if route is None:
            code = 405 if path_known else 404
            msg = ("Method %s is not allowed on this resource" % method if path_known else
                   "The requested URL /compute/v1/%s was not found on this server." % rest)
            return code, {"error": {"code": code, "message": msg, "errors": [
                {"message": msg, "domain": "global",
                 "reason": "httpMethodNotAllowed" if path_known else "notFound"}]}}
        name, args, allowed, write = route
        self.count("compute." + name)
        try:
            token = self.authenticate(headers, write)
            throttle = self._take_throttle(name)
            if throttle:
                raise throttle_error(throttle)
            for key, values in query.items():
                if key not in allowed:
                    raise ApiError(400, "invalid", "Invalid JSON payload received. Unknown "
                                   "name \"%s\": Cannot bind query parameter. Field '%s' "
                                   "could not be found in request message." % (key, key),
                                   status="INVALID_ARGUMENT")
                if len(values) != 1:
                    raise gce_common.invalid("Parameter '%s' given more than once." % key)
            if query.get("alt", ["json"])[0] != "json":
                raise gce_common.invalid("Invalid value for field 'alt': only json.")
            q = {k: v[0] for k, v in query.items()}
            user = token.principal.replace("user:", "")
            return 200, self._dispatch(name, args, q, body, user)
        except ApiError as e:
            self.count_error("compute." + name, e.code)
            return e.code, e.body

    def _dispatch(self, name, a, q, body, user):
        c = self.compute
        schema = _REQUEST_SCHEMA.get(name)
        if schema:
            try:
                data = json.loads(body.decode("utf-8")) if body else None
            except (UnicodeDecodeError, ValueError):
                raise ApiError(400, "parseError", "Parse Error")
            if data is None:
                raise gce_common.invalid("Required field 'resource' not specified")
            try:
                self.schemas.check(schema, data)
            except gce_schema.SchemaError as e:
                raise ApiError(400, "invalid", e.message, status="INVALID_ARGUMENT")
            with_body = {
                "instances.insert": lambda: c.insert_instance(a["project"], a["zone"], data, q,
                                                              user),
                "instances.setMetadata": lambda: c.set_metadata(a["project"], a["zone"],
                                                                a["name"], data, q, user),
                "instances.setTags": lambda: c.set_tags(a["project"], a["zone"], a["name"],
                                                        data, q, user),
                "firewalls.insert": lambda: c.insert_firewall(a["project"], data, q, user),
                "firewalls.patch": lambda: c.patch_firewall(a["project"], a["name"], data, q,
                                                            user),
            }
            return with_body[name]()
        if body and name not in ("zoneOperations.wait", "globalOperations.wait") and \
                body.strip() not in (b"", b"{}"):
            raise gce_common.invalid("This method takes no request body.")
        table = {
            "instances.list": lambda: c.list_instances(a["project"], a["zone"], q),
            "instances.aggregatedList": lambda: c.aggregated_instances(a["project"], q),
            "instances.get": lambda: c.get_instance(a["project"], a["zone"], a["name"]),
            "instances.delete": lambda: c.delete_instance(a["project"], a["zone"], a["name"],
                                                          q, user),
            "instances.start": lambda: c.start_instance(a["project"], a["zone"], a["name"],
                                                        q, user),
            "instances.stop": lambda: c.stop_instance(a["project"], a["zone"], a["name"],
                                                      q, user),
            "instances.reset": lambda: c.reset_instance(a["project"], a["zone"], a["name"],
                                                        q, user),
            "zoneOperations.get": lambda: c.get_operation(a["project"], a["zone"], a["op"]),
            "zoneOperations.wait": lambda: c.wait_operation(a["project"], a["zone"], a["op"]),
            "globalOperations.get": lambda: c.get_operation(a["project"], None, a["op"]),
            "globalOperations.wait": lambda: c.wait_operation(a["project"], None, a["op"]),
            "firewalls.list": lambda: c.list_firewalls(a["project"], q),
            "firewalls.get": lambda: c.get_firewall(a["project"], a["name"]),
            "firewalls.delete": lambda: c.delete_firewall(a["project"], a["name"], q, user),
            "images.getFromFamily": lambda: c.get_image_from_family(a["project"], a["name"]),
            "images.get": lambda: c.get_image(a["project"], a["name"]),
            "zones.get": lambda: c.get_zone(a["project"], a["zone"]),
            "machineTypes.get": lambda: c.get_machine_type(a["project"], a["zone"], a["name"]),
            "networks.get": lambda: c.get_network(a["project"], a["name"]),
        }
        return table[name]()


def throttle_error(t):
    code = t["code"]
    if code == 429:
        return ApiError(429, "rateLimitExceeded", t["message"] or "Rate Limit Exceeded",
                        status="RESOURCE_EXHAUSTED", domain="usageLimits")
    if code == 403:
        return ApiError(403, "rateLimitExceeded", t["message"] or "Rate Limit Exceeded",
                        domain="usageLimits")
    if code == 503:
        return ApiError(503, "backendError", t["message"] or "The service is currently "
                        "unavailable.", status="UNAVAILABLE")
    return ApiError(500, "backendError", t["message"] or "Internal error encountered.",
                    status="INTERNAL")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "ESF"
    sys_version = ""
    emulator = None   # set on the subclass

    def log_message(self, fmt, *args):
        self.emulator.log("http: " + fmt % args)

    def _reply(self, status, obj):
        data = (json.dumps(obj, indent=2) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="https://accounts.google.com/"')
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        """The request body, or None when it is chunked, unsized or too large."""
        length = self.headers.get("Content-Length")
        if self.headers.get("Transfer-Encoding"):
            return None
        try:
            n = int(length or "0")
        except ValueError:
            return None
        if n < 0 or n > _MAX_BODY:
            return None
        return self.rfile.read(n)

    def _handle(self, method):
        e = self.emulator
        body = self._body()
        if body is None:
            self.close_connection = True
            return self._reply(411, {"error": {"code": 411, "message": "This emulator needs "
                                               "a Content-Length of at most 1 MiB."}})
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        if path.startswith("/_emulator/"):
            return self._reply(*e.control(method, path, body))
        if path == "/token":
            e.count("oauth2.token")
            if method != "POST":
                return self._reply(405, {"error": "invalid_request",
                                         "error_description": "Method not allowed"})
            throttle = e._take_throttle("token")
            if throttle:
                return self._reply(throttle["code"], {"error": "internal_failure",
                                                      "error_description": "Backend Error"})
            status, answer = e.tokens.handle(self.headers.get("Content-Type"), body)
            if status != 200:
                e.count_error("oauth2.token", status)
            return self._reply(status, answer)
        if path.startswith("/compute/v1/"):
            try:
                query = urllib.parse.parse_qs(url.query, keep_blank_values=True,
                                              strict_parsing=bool(url.query))
            except ValueError:
                return self._reply(400, gce_common.invalid("Malformed query string").body)
            return self._reply(*e.compute_call(method, path, query, self.headers, body))
        return self._reply(404, {"error": {"code": 404, "message": "Not Found", "errors": [
            {"message": "Not Found", "domain": "global", "reason": "notFound"}]}})

    def do_GET(self):
        self._handle("GET")

    def do_POST(self):
        self._handle("POST")

    def do_DELETE(self):
        self._handle("DELETE")

    def do_PUT(self):
        self._handle("PUT")

    def do_PATCH(self):
        self._handle("PATCH")


class OffsetClockTokens(gce_oauth.TokenService):
    """TokenService whose clock can be moved by POST /_emulator/clock."""

    def __init__(self, token_uri, lifetime):
        self.offset = 0.0
        super().__init__(token_uri, lifetime, clock=lambda: time.time() + self.offset)


def mounts_under(path):
    """Mount points at or below `path` (never delete through a mount)."""
    path = os.path.realpath(path)
    with open("/proc/self/mounts", encoding="utf-8") as f:
        points = [line.split()[1].replace("\\040", " ") for line in f]
    return [m for m in points if m == path or m.startswith(path + "/")]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--service-account", action="append", default=[],
                   metavar="EMAIL=PEM", help="a service account and its PUBLIC key (PEM "
                   "file: SPKI public key or certificate); repeatable")
    p.add_argument("--service-account-key", action="append", default=[], metavar="JSON",
                   help="a service-account key file; only its client_email and the public "
                   "half of its key are kept; repeatable")
    p.add_argument("--authorized-user", action="append", default=[], metavar="JSON",
                   help="gcloud's application_default_credentials.json (type "
                   "authorized_user): client_id, client_secret, refresh_token; repeatable")
    p.add_argument("--token-uri", help="the audience a JWT must carry (default: "
                   "http://127.0.0.1:PORT/token)")
    p.add_argument("--token-lifetime", type=int, default=3599, help="expires_in of tokens")
    p.add_argument("--project", action="append", default=[],
                   help="a project that exists (repeatable; default example-project)")
    p.add_argument("--self-link-base", default="https://www.googleapis.com/compute/v1/",
                   help="prefix of selfLink and other resource URLs in answers")
    p.add_argument("--wait-seconds", type=float, default=120.0,
                   help="how long operations.wait blocks at most")
    p.add_argument("--dmachine", help="dmachine binary; instances are its local machines")
    p.add_argument("--no-hosts", action="store_true",
                   help="no real hosts: fake addresses, a short delay per transition")
    p.add_argument("--fake-delay", type=float, default=0.2,
                   help="seconds per host step with --no-hosts")
    p.add_argument("--store", help="private dmachine store (default: a new temporary "
                   "directory, removed at exit)")
    p.add_argument("--local-subnet", default="10.213.241.0/24")
    p.add_argument("--local-bridge", default="dmgceemu0")
    p.add_argument("--local-image", default="debian-docker")
    p.add_argument("--local-cache-dir",
                   default=os.environ.get("LOCAL_CACHE_DIR", "/var/cache/dmachine/local"))
    p.add_argument("--log", help="log file (default: stderr)")
    args = p.parse_args(argv)
    if not args.no_hosts and not args.dmachine:
        p.error("--dmachine is required unless --no-hosts")
    if not args.service_account and not args.service_account_key and \
            not args.authorized_user:
        p.error("configure at least one --service-account, --service-account-key or "
                "--authorized-user")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    log_file = open(args.log, "a", buffering=1) if args.log else sys.stderr
    log_lock = threading.Lock()

    def log(msg):
        with log_lock:
            log_file.write("%s gceemu %s\n" % (time.strftime("%H:%M:%S"), msg))
            log_file.flush()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    tokens = OffsetClockTokens(args.token_uri or "http://127.0.0.1:%d/token" % port,
                               args.token_lifetime)
    for item in args.service_account:
        email, _, pem = item.partition("=")
        with open(pem, "rb") as f:
            tokens.add_service_account(email, f.read())
    for path in args.service_account_key:
        with open(path, encoding="utf-8") as f:
            key = json.load(f)
        tokens.add_service_account(key["client_email"], key["private_key"].encode())
    for path in args.authorized_user:
        with open(path, encoding="utf-8") as f:
            user = json.load(f)
        tokens.add_authorized_user(user["client_id"], user["client_secret"],
                                   user["refresh_token"], user.get("scopes"))

    own_store = None
    if args.no_hosts:
        hosts = gce_hosts.FakeHosts(args.fake_delay)
    else:
        store = args.store
        if not store:
            store = own_store = tempfile.mkdtemp(prefix="gceemu-store-", dir="/var/tmp")
        hosts = gce_hosts.LocalHosts(os.path.abspath(args.dmachine), store, args.local_subnet,
                                     args.local_bridge, args.local_image,
                                     args.local_cache_dir, log)
    compute = gce_compute.Compute(hosts, args.project or ["example-project"],
                                  args.self_link_base, log, wait_seconds=args.wait_seconds)
    emulator = Emulator(tokens, compute, gce_schema.Schemas(), log)
    Handler.emulator = emulator

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("gce emulator listening on http://127.0.0.1:%d (token uri %s)" %
          (port, tokens.token_uri), flush=True)
    log("listening on 127.0.0.1:%d, hosts: %s" % (port, "fake" if args.no_hosts else
                                                   hosts.store))
    while not stop.wait(0.5):
        pass

    log("shutting down")
    server.shutdown()
    failed = compute.shutdown()
    status = 0
    if not args.no_hosts:
        try:
            for name in hosts.existing():   # anything else left in the private store
                try:
                    hosts.remove(name)
                except gce_hosts.HostError as e:
                    failed.append("%s: %s" % (name, e))
        except gce_hosts.HostError as e:
            failed.append("ls: %s" % e)
        if failed:
            log("NOT removed: %s; the store %s is kept" % ("; ".join(failed), hosts.store))
            status = 1
        elif own_store and not mounts_under(own_store):
            shutil.rmtree(own_store, ignore_errors=True)
        elif own_store:
            log("mounts left under %s; the store is kept" % own_store)
            status = 1
    log("stopped")
    return status


if __name__ == "__main__":
    sys.exit(main())
