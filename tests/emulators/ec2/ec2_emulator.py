#!/usr/bin/python3
"""A strict local emulator of the EC2 Query API (Version 2016-11-15) for tests.

    ec2_emulator.py --credentials creds.json --dmachine build/dmachine [--port 0]
                    [--port-file F] [--region us-east-1] [--no-hosts] ...

Every request is checked as EC2 checks it (SigV4 with the secret of the access
key, clock skew, Action, Version, unknown parameters, values, ids, states) and
answered in EC2's XML; instances are real hosts of dmachine's local driver.
Test hooks under /_emulator/ (no signature; the server listens on 127.0.0.1
only). See README.md next to this file. Standard library only.
"""

import argparse
import calendar
import http.server
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import ec2_hosts  # noqa: E402
import ec2_query  # noqa: E402
import ec2_state  # noqa: E402
import sigv4  # noqa: E402
from ec2_query import API_VERSION, STATUS_OF, Ec2Error  # noqa: E402

_MAX_BODY = 1 << 20
_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you "
                      "provided. Check your AWS Secret Access Key and signing method. Consult "
                      "the service documentation for details.")
_AUTH_MESSAGE = "AWS was not able to validate the provided access credentials"


class Emulator:
    """Authentication, dispatch, statistics and injected errors around Ec2State."""

    def __init__(self, state, credentials, region, max_skew=900, log=print):
        self.state = state
        self.credentials = credentials      # access key -> {"secret", "session_token"}
        self.region = region
        self.max_skew = max_skew
        self.clock_offset = 0.0
        self.log = log
        self.stats_lock = threading.Lock()
        self.calls = {}
        self.errors = {}
        self.injections = []                # [{"action", "code", "message", "status", "count"}]

    # ------------------------------------------------------------ auth

    def authenticate(self, method, path, query, headers, body):
        """Raises Ec2Error unless the request carries a valid SigV4 signature made
        with the secret of a known access key, in scope ec2/<region>, in time."""
        auth = [v for n, v in headers if n.lower() == "authorization"]
        if not auth:
            if "X-Amz-Signature" in query:
                raise Ec2Error("AuthFailure", "The emulator does not take query-string "
                               "(presigned) signatures; sign with the Authorization header", 401)
            # What EC2 answers to an unsigned request (e.g. kitchen-ec2 issue #440).
            raise Ec2Error("MissingParameter",
                           "The request must contain the parameter AWSAccessKeyId")
        fields, problem = sigv4.parse_authorization(auth[-1])
        if problem:
            raise Ec2Error("IncompleteSignature", problem)
        dates = [v.strip() for n, v in headers if n.lower() == "x-amz-date"]
        if not dates:
            raise Ec2Error("IncompleteSignature", "Authorization header requires existence of "
                           "either a 'X-Amz-Date' or a 'Date' header. Authorization=%s" % auth[-1])
        try:
            when = calendar.timegm(time.strptime(dates[-1], "%Y%m%dT%H%M%SZ"))
        except ValueError:
            raise Ec2Error("IncompleteSignature", "Date must be in ISO-8601 'basic format'. Got "
                           "'%s'. See http://en.wikipedia.org/wiki/ISO_8601" % dates[-1])
        for needed, label in (("host", "'Host' or ':authority'"), ("x-amz-date", "'X-Amz-Date'")):
            if needed not in fields["signed_headers"]:
                raise Ec2Error("IncompleteSignature", "%s must be a 'SignedHeader' in the AWS "
                               "Authorization." % label)
        if fields["service"] != "ec2":
            raise Ec2Error("SignatureDoesNotMatch", "Credential should be scoped to correct "
                           "service: 'ec2'. ", 403)
        if fields["region"] != self.region:
            raise Ec2Error("SignatureDoesNotMatch", "Credential should be scoped to a valid "
                           "region, not '%s'. " % fields["region"], 403)
        if fields["date"] != dates[-1][:8]:
            raise Ec2Error("SignatureDoesNotMatch", "Date in Credential scope does not match "
                           "YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from "
                           "'%s'." % (fields["date"], dates[-1][:8], dates[-1]), 403)
        account = self.credentials.get(fields["access_key"])
        if account is None:
            raise Ec2Error("AuthFailure", _AUTH_MESSAGE, 401)
        if abs(self.now() - when) > self.max_skew:
            raise Ec2Error("RequestExpired", "Request has expired.")
        tokens = [v.strip() for n, v in headers if n.lower() == "x-amz-security-token"]
        expected_token = account.get("session_token")
        if (expected_token or tokens) and tokens != ([expected_token] if expected_token else []):
            raise Ec2Error("AuthFailure", _AUTH_MESSAGE, 401)
        if expected_token and "x-amz-security-token" not in fields["signed_headers"]:
            raise Ec2Error("IncompleteSignature", "'X-Amz-Security-Token' must be a "
                           "'SignedHeader' in the AWS Authorization (the emulator, like EC2's "
                           "SDKs, wants the session token signed).")
        if not sigv4.verify(method, path, query, headers, body, fields, account["secret"]):
            raise Ec2Error("SignatureDoesNotMatch", _SIGNATURE_MESSAGE, 403)

    def now(self):
        return time.time() + self.clock_offset

    # ------------------------------------------------------------ dispatch

    def handle(self, method, path, query, headers, body, content_type):
        """Returns (status, body bytes, summary for the log)."""
        req_id = ec2_query.request_id()
        action = "-"
        try:
            params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
            if method == "POST":
                if content_type.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
                    raise Ec2Error("InvalidParameterValue", "POST requests must have Content-Type "
                                   "application/x-www-form-urlencoded")
                params.update(urllib.parse.parse_qsl(body.decode("utf-8", "strict"),
                                                     keep_blank_values=True))
            self.authenticate(method, path, query, headers, body)
            action = params.get("Action") or "-"
            self._count(self.calls, action)
            if "Action" not in params:
                raise Ec2Error("MissingParameter", "The request must contain the parameter Action")
            if "Version" not in params:
                raise Ec2Error("MissingParameter", "The request must contain the parameter Version")
            if params["Version"] != API_VERSION:
                raise Ec2Error("NoSuchVersion", "The requested version (%s) of service AmazonEC2 "
                               "does not exist" % params["Version"])
            handler = getattr(self.state, "act_" + action, None)
            if handler is None or action not in ec2_query.SCHEMAS:
                raise Ec2Error("InvalidAction", "The action %s is not valid for this web service."
                               % action)
            self._injected(action, params)
            ec2_query.check_known_parameters(action, params)
            with self.state.lock:
                self.state.purge()
                root = handler(params)
            root.find("requestId").text = req_id
            return 200, ec2_query.to_bytes(root), action
        except UnicodeDecodeError:
            error = Ec2Error("InvalidParameterValue", "The request body is not valid UTF-8")
        except Ec2Error as exc:
            error = exc
        status = STATUS_OF.get(error.code, error.status)
        self._count(self.errors, error.code)
        return status, ec2_query.error_bytes(error.code, error.message, req_id), \
            "%s -> %s" % (action, error.code)

    def _count(self, table, key):
        with self.stats_lock:
            table[key] = table.get(key, 0) + 1

    def _injected(self, action, params):
        with self.stats_lock:
            for rule in self.injections:
                if rule["action"] in (action, "*") and rule["count"] > 0:
                    rule["count"] -= 1
                    rule["fired"] = rule.get("fired", 0) + 1
                    message = rule.get("message") or ec2_query.INJECTED_MESSAGES.get(
                        rule["code"], "Injected error %s" % rule["code"])
                    zone = self.state.zone
                    message = message.replace("{type}", params.get("InstanceType", "m1.small")) \
                        .replace("{zone}", zone) \
                        .replace("{others}", "%sb, %sc" % (self.region, self.region))
                    self.injections = [r for r in self.injections if r["count"] > 0]
                    raise Ec2Error(rule["code"], message,
                                   rule.get("status") or STATUS_OF.get(rule["code"], 400))

    def inject(self, action, code, count, message=None, status=None):
        if action != "*" and action not in ec2_query.SCHEMAS:
            raise ValueError("unknown action %r" % action)
        if not code or count < 1:
            raise ValueError("code and a count >= 1 are needed")
        with self.stats_lock:
            self.injections.append({"action": action, "code": code, "count": count,
                                    "message": message, "status": status})

    def stats(self):
        with self.stats_lock:
            return {"calls": dict(self.calls), "errors": dict(self.errors),
                    "total": sum(self.calls.values()),
                    "injections": [dict(r) for r in self.injections]}

    def reset_stats(self):
        with self.stats_lock:
            self.calls.clear()
            self.errors.clear()

    # ------------------------------------------------------------ control endpoints

    def control(self, method, path, body):
        """/_emulator/...: (status, JSON-able answer)."""
        try:
            data = json.loads(body or b"{}") if method == "POST" else {}
        except ValueError:
            return 400, {"error": "body must be JSON"}
        if path == "/_emulator/stats" and method == "GET":
            return 200, self.stats()
        if path == "/_emulator/stats/reset" and method == "POST":
            self.reset_stats()
            return 200, {"ok": True}
        if path == "/_emulator/state" and method == "GET":
            return 200, self.state.dump()
        if path == "/_emulator/inject" and method == "POST":
            try:
                self.inject(data.get("action", "*"), data.get("code"), int(data.get("count", 1)),
                            data.get("message"), data.get("status"))
            except (ValueError, TypeError) as exc:
                return 400, {"error": str(exc)}
            return 200, {"ok": True, "injections": self.stats()["injections"]}
        if path == "/_emulator/inject/clear" and method == "POST":
            with self.stats_lock:
                self.injections = []
            return 200, {"ok": True}
        if path == "/_emulator/fault" and method == "POST":
            fault = data.get("fault")
            if fault not in ("no-ssh", "launch-fails"):
                return 400, {"error": "fault must be no-ssh or launch-fails"}
            with self.state.lock:
                self.state.faults[fault] = self.state.faults.get(fault, 0) + int(
                    data.get("count", 1))
                return 200, {"ok": True, "faults": dict(self.state.faults)}
        if path == "/_emulator/clock" and method == "POST":
            self.clock_offset = float(data.get("offset_seconds", 0))
            return 200, {"ok": True, "offset_seconds": self.clock_offset}
        if path == "/_emulator/purge-terminated" and method == "POST":
            with self.state.lock:
                ttl = self.state.terminated_ttl
                self.state.terminated_ttl = 0
                self.state.purge()
                self.state.terminated_ttl = ttl
            return 200, {"ok": True}
        if path == "/_emulator/health" and method == "GET":
            return 200, {"ok": True, "region": self.region}
        return 404, {"error": "no such endpoint", "endpoints": [
            "GET /_emulator/stats", "POST /_emulator/stats/reset", "GET /_emulator/state",
            "POST /_emulator/inject", "POST /_emulator/inject/clear", "POST /_emulator/fault",
            "POST /_emulator/clock",
            "POST /_emulator/purge-terminated", "GET /_emulator/health"]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive and Expect: 100-continue, as libcurl uses
    server_version = "AmazonEC2"
    sys_version = ""
    emulator = None                   # set on the class by serve()

    def log_message(self, fmt, *args):  # the emulator logs one line per call itself
        pass

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return None
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _reply(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, method):
        body = self._read_body()
        if body is None:
            self.close_connection = True
            self._reply(413, b"body too large or chunked\n", "text/plain")
            return
        path, _, query = self.path.partition("?")
        if path.startswith("/_emulator/"):
            status, answer = self.emulator.control(method, path, body)
            self._reply(status, json.dumps(answer, indent=1).encode() + b"\n", "application/json")
            return
        if path != "/":
            self._reply(404, b"not found\n", "text/plain")
            return
        headers = list(self.headers.items())
        status, answer, summary = self.emulator.handle(
            method, path, query, headers, body, self.headers.get("Content-Type", ""))
        self.emulator.log("%s %s %d %s" % (method, path, status, summary))
        self._reply(status, answer, "text/xml;charset=UTF-8")

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self):  # noqa: N802
        self._serve("POST")


def load_credentials(args):
    creds = {}
    if args.credentials:
        with open(args.credentials, encoding="utf-8") as f:
            data = json.load(f)
        for key, value in data.items():
            if isinstance(value, str):
                value = {"secret": value}
            creds[key] = {"secret": value["secret"], "session_token": value.get("session_token")}
    for spec in args.access_key or []:
        parts = spec.split(":", 2)
        if len(parts) < 2:
            raise SystemExit("--access-key wants KEY:SECRET[:SESSION_TOKEN]")
        creds[parts[0]] = {"secret": parts[1], "session_token": parts[2] if len(parts) > 2 else None}
    if not creds:
        raise SystemExit("no credentials: give --credentials FILE or --access-key KEY:SECRET")
    return creds


def parse_args(argv):
    p = argparse.ArgumentParser(description="Strict local emulator of the EC2 Query API")
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    p.add_argument("--port-file", help="write the port here once listening")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--credentials", help='JSON {"AKID": {"secret": "...", "session_token": "..."}}')
    p.add_argument("--access-key", action="append", help="KEY:SECRET[:SESSION_TOKEN] (repeatable)")
    p.add_argument("--dmachine", help="dmachine binary; instances are its local machines")
    p.add_argument("--no-hosts", action="store_true",
                   help="no real hosts: instances get made-up IPs (API checks only)")
    p.add_argument("--store", help="private dmachine store (default: a new temporary directory, "
                   "removed at exit)")
    p.add_argument("--local-subnet", default="10.213.240.0/24")
    p.add_argument("--local-bridge", default="dmec2emu0")
    p.add_argument("--local-image", default="debian-docker")
    p.add_argument("--local-cache-dir", default=os.environ.get("LOCAL_CACHE_DIR"))
    p.add_argument("--public-ip", choices=("separate", "same"), default="separate",
                   help="separate: a public address of its own (a new one at each start, as "
                   "EC2); same: the public address is the private one")
    p.add_argument("--terminated-ttl", type=float, default=60.0,
                   help="seconds a terminated instance stays visible (EC2: about an hour)")
    p.add_argument("--max-skew", type=int, default=900, help="allowed clock skew in seconds")
    p.add_argument("--instance-limit", type=int, default=32)
    p.add_argument("--fake-delay", type=float, default=0.2,
                   help="--no-hosts: seconds each state change takes")
    p.add_argument("--inject", action="append", default=[],
                   help="ACTION:CODE:COUNT, e.g. RunInstances:InsufficientInstanceCapacity:1")
    p.add_argument("--log", help="log file (default: stderr)")
    args = p.parse_args(argv)
    if not args.no_hosts and not args.dmachine:
        p.error("give --dmachine PATH (or --no-hosts)")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    log_file = open(args.log, "a", encoding="utf-8") if args.log else sys.stderr
    log_lock = threading.Lock()

    def log(text):
        with log_lock:
            log_file.write(time.strftime("%H:%M:%S ") + text + "\n")
            log_file.flush()

    credentials = load_credentials(args)
    own_store = args.store is None
    hosts = None
    store = None
    if not args.no_hosts:
        if not os.access(args.dmachine, os.X_OK):
            raise SystemExit("dmachine binary not executable: %s" % args.dmachine)
        store = args.store or tempfile.mkdtemp(prefix="ec2emu-store-")
        hosts = ec2_hosts.LocalHosts(os.path.abspath(args.dmachine), store, args.local_subnet,
                                     args.local_bridge, args.local_image, log,
                                     cache_dir=args.local_cache_dir)
    state = ec2_state.Ec2State(args.region, args.local_subnet, hosts, args.fake_delay,
                               args.terminated_ttl, args.instance_limit, log, args.public_ip)
    emulator = Emulator(state, credentials, args.region, args.max_skew, log)
    for spec in args.inject:
        action, code, count = spec.split(":")
        emulator.inject(action, code, int(count))
    Handler.emulator = emulator
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    print("ec2 emulator listening on http://127.0.0.1:%d/ (region %s, %s)"
          % (port, args.region, "no hosts" if hosts is None else "store " + store), flush=True)

    def on_signal(signum, _frame):
        log("signal %d: shutting down" % signum)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        log("terminating every instance")
        state.shutdown()
        if hosts is not None:
            for name in hosts.existing():   # anything a failed or interrupted step left
                try:
                    hosts.remove(name)
                except ec2_hosts.HostError as exc:
                    log("cleanup of %s failed: %s" % (name, exc))
            left = hosts.existing()
            if own_store:
                shutil.rmtree(store, ignore_errors=True)
            log("shutdown done; machines left: %s" % (left or "none"))
        if args.port_file:
            try:
                os.unlink(args.port_file)
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
