#!/usr/bin/python3
"""Tests of the GCE emulator: the token endpoint with the vector key, the
Compute API's checks and shapes against tests/vectors/gce, injected errors, and
one instance end to end as a real host (root and a built dmachine needed).

    python3 tests/emulators/gce/test_gce_emulator.py   [DMACHINE=build/dmachine]

Exit 0: all passed; 77: everything that could run passed but the real-host test
was skipped (the reason is printed); 1: a failure.
"""

import base64
import copy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
VECTORS = os.path.join(ROOT, "tests", "vectors", "gce")
KEY_FILE = os.path.join(VECTORS, "auth", "service-account-key.json")
PUBLIC_PEM = os.path.join(ROOT, "tests", "vectors", "jws", "rfc7515-a2-rsa-public.spki.pem")
EMULATOR = os.path.join(HERE, "gce_emulator.py")
DMACHINE = os.environ.get("DMACHINE", os.path.join(ROOT, "build", "dmachine"))
COMPUTE_SCOPE = "https://www.googleapis.com/auth/compute"
PROJECT = "example-project"
ZONE = "us-central1-a"

sys.path.insert(0, HERE)
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402

import gce_hosts  # noqa: E402
import gce_oauth  # noqa: E402

SKIPPED_E2E = []


def vector(*parts):
    with open(os.path.join(VECTORS, *parts), encoding="utf-8") as f:
        return json.load(f)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def service_account():
    with open(KEY_FILE, encoding="utf-8") as f:
        return json.load(f)


def sign_jwt(claims, key=None, header=None):
    key = key or serialization.load_pem_private_key(
        service_account()["private_key"].encode(), password=None)
    header = header or {"alg": "RS256", "typ": "JWT"}
    signing_input = b64url(json.dumps(header).encode()) + "." + \
        b64url(json.dumps(claims).encode())
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(sig)


def shape(obj):
    """The structure of a JSON value: keys and value types, recursively."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shape(obj[0])] if obj else []
    return type(obj).__name__


class Emu:
    """One emulator process on a free port."""

    def __init__(self, *extra):
        self.dir = tempfile.mkdtemp(prefix="gceemu-test-")
        port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "log")
        user = {"type": "authorized_user", "client_id": "764086051850-x.apps.test",
                "client_secret": "d-FL95Q19q7MQmFpd7hHD0Ty", "refresh_token": "1//rt-test"}
        self.user_file = os.path.join(self.dir, "adc.json")
        with open(self.user_file, "w") as f:
            json.dump(user, f)
        self.user = user
        self.proc = subprocess.Popen(
            [sys.executable, EMULATOR, "--port-file", port_file, "--log", self.log,
             "--service-account", "%s=%s" % (service_account()["client_email"], PUBLIC_PEM),
             "--authorized-user", self.user_file] + list(extra),
            stdout=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(port_file):
                break
            if self.proc.poll() is not None:
                raise RuntimeError("emulator exited: " + self.log_text())
            time.sleep(0.1)
        with open(port_file) as f:
            self.port = int(f.read())
        self.base = "http://127.0.0.1:%d" % self.port
        self.token_uri = self.base + "/token"

    def stop(self, timeout=600):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = self.proc.returncode
        shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def log_text(self):
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, token=None, headers=None, raw=None):
        data = raw if raw is not None else (json.dumps(body).encode()
                                            if body is not None else None)
        req = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        if data is not None and raw is None:
            req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=180) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def token_request(self, form):
        return self.request("POST", "/token", raw=urllib.parse.urlencode(form).encode(),
                            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def claims(self, **over):
        now = int(time.time())
        c = {"iss": service_account()["client_email"], "scope": COMPUTE_SCOPE,
             "aud": self.token_uri, "exp": now + 3600, "iat": now}
        c.update(over)
        return {k: v for k, v in c.items() if v is not None}

    def token(self, scope=COMPUTE_SCOPE):
        status, answer = self.token_request({
            "grant_type": gce_oauth.JWT_GRANT,
            "assertion": sign_jwt(self.claims(scope=scope))})
        assert status == 200, answer
        return answer["access_token"]

    def compute(self, method, rel, body=None, token=None):
        return self.request(method, "/compute/v1/projects/%s/%s" % (PROJECT, rel), body,
                            token)

    def wait_done(self, op, token, seconds=900):
        """Polls the operation with zoneOperations.wait, bounded."""
        scope = "zones/%s" % ZONE if "zone" in op else "global"
        deadline = time.monotonic() + seconds
        while op["status"] != "DONE":
            assert time.monotonic() < deadline, op
            status, op = self.compute("POST", "%s/operations/%s/wait" % (scope, op["name"]),
                                      token=token)
            assert status == 200, op
        return op

    def control(self, method, path, body=None):
        return self.request(method, "/_emulator/" + path, body)


def insert_body(name, keys="deploy:ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExam"
                "pleExampleExampleExample deploy"):
    body = vector("compute", "instances-insert-request.json")
    body["name"] = name
    body["metadata"]["items"][0]["value"] = keys
    return body


class TokenServiceKnownAnswer(unittest.TestCase):
    """In-process: the vector's exact request body at the vector's time."""

    def test_vector_request_body_gets_a_token(self):
        tokens = gce_oauth.TokenService("https://oauth2.googleapis.com/token",
                                        clock=lambda: 1700000100)
        with open(PUBLIC_PEM, "rb") as f:
            tokens.add_service_account(service_account()["client_email"], f.read())
        with open(os.path.join(VECTORS, "auth", "token-request-body.txt"), "rb") as f:
            body = f.read().strip()
        status, answer = tokens.handle("application/x-www-form-urlencoded", body)
        self.assertEqual(status, 200, answer)
        self.assertEqual(set(answer), set(vector("auth", "token-response.json")))
        self.assertEqual(answer["expires_in"], 3599)
        self.assertEqual(answer["token_type"], "Bearer")
        self.assertEqual(tokens.lookup(answer["access_token"]).scopes, [COMPUTE_SCOPE])
        # the same assertion an hour later is refused with Google's body
        late = gce_oauth.TokenService("https://oauth2.googleapis.com/token",
                                      clock=lambda: 1700003600 + 400)
        late.service_accounts = tokens.service_accounts
        status, answer = late.handle("application/x-www-form-urlencoded", body)
        self.assertEqual((status, answer), (400, vector("auth", "token-error-bad-times.json")))

    def test_guest_agent_reading_of_ssh_keys(self):
        value = ("deploy:ssh-ed25519 AAAAC3Nza deploy\nbad line\nroot2:ssh-dss AAAA x\n"
                 "ops:ssh-rsa AAAAB3Nz google-ssh {\"userName\":\"o\",\"expireOn\":"
                 "\"2000-01-01T00:00:00+0000\"}\nEvil;rm:ssh-ed25519 AAAA x\n"
                 "deploy:ssh-ed25519 AAAAC3Nzb second")
        self.assertEqual(gce_hosts.parse_ssh_keys(value), [
            ("deploy", "ssh-ed25519 AAAAC3Nza deploy"),
            ("deploy", "ssh-ed25519 AAAAC3Nzb second")])
        script = gce_hosts.guest_agent_script([("deploy", "ssh-ed25519 AAAA c'; reboot")])
        self.assertIn("'ssh-ed25519 AAAA c'\"'\"'; reboot'", script)
        self.assertIn("NOPASSWD:ALL", script)


class TokenEndpoint(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--no-hosts", "--fake-delay", "0.05")

    @classmethod
    def tearDownClass(cls):
        cls.emu.stop()

    def exchange(self, claims, key=None, header=None):
        return self.emu.token_request({"grant_type": gce_oauth.JWT_GRANT,
                                       "assertion": sign_jwt(claims, key, header)})

    def test_exchange_with_the_vector_key(self):
        status, answer = self.exchange(self.emu.claims())
        self.assertEqual(status, 200, answer)
        self.assertEqual(sorted(answer), ["access_token", "expires_in", "token_type"])
        self.assertEqual((answer["expires_in"], answer["token_type"]), (3599, "Bearer"))
        status, _ = self.emu.compute("GET", "zones/%s/instances" % ZONE,
                                     token=answer["access_token"])
        self.assertEqual(status, 200)

    def test_bad_signature(self):
        other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.assertEqual(self.exchange(self.emu.claims(), key=other),
                         (400, vector("auth", "token-error-invalid-signature.json")))
        good = sign_jwt(self.emu.claims())
        tampered = good[:-4] + ("AAAA" if not good.endswith("AAAA") else "BBBB")
        self.assertEqual(self.emu.token_request({"grant_type": gce_oauth.JWT_GRANT,
                                                 "assertion": tampered}),
                         (400, vector("auth", "token-error-invalid-signature.json")))

    def test_wrong_audience(self):
        status, answer = self.exchange(self.emu.claims(aud="https://oauth2.googleapis.com/token"))
        self.assertEqual(status, 400)
        self.assertEqual(answer["error"], "invalid_grant")
        self.assertTrue(answer["error_description"].startswith(
            "Invalid JWT: Failed audience check."), answer)

    def test_expired_and_too_long_and_future(self):
        now = int(time.time())
        bad = vector("auth", "token-error-bad-times.json")
        for iat, exp in ((now - 7200, now - 3600), (now, now + 3601), (now + 3600, now + 5000),
                         (now, now), ("1", now + 60)):
            self.assertEqual(self.exchange(self.emu.claims(iat=iat, exp=exp)), (400, bad),
                             (iat - now if isinstance(iat, int) else iat, exp - now))

    def test_unknown_account_missing_scope_alg(self):
        self.assertEqual(self.exchange(self.emu.claims(iss="nobody@x.iam.gserviceaccount.com")),
                         (400, {"error": "invalid_grant",
                                "error_description": "Invalid grant: account not found"}))
        self.assertEqual(self.exchange(self.emu.claims(scope=None)),
                         (400, {"error": "invalid_scope",
                                "error_description": "Empty or missing scope not allowed."}))
        status, answer = self.exchange(self.emu.claims(), header={"alg": "RS512", "typ": "JWT"})
        self.assertEqual((status, answer["error"]), (400, "invalid_grant"))

    def test_malformed_requests(self):
        self.assertEqual(self.emu.token_request({"grant_type": "password"}),
                         (400, {"error": "unsupported_grant_type",
                                "error_description": "Invalid grant_type: password"}))
        status, answer = self.emu.token_request({"grant_type": gce_oauth.JWT_GRANT})
        self.assertEqual((status, answer["error"]), (400, "invalid_request"))
        status, answer = self.emu.token_request({"grant_type": gce_oauth.JWT_GRANT,
                                                 "assertion": "not.a-jwt"})
        self.assertEqual((status, answer["error"]), (400, "invalid_grant"))
        status, answer = self.emu.request("POST", "/token", raw=b"{}",
                                          headers={"Content-Type": "application/json"})
        self.assertEqual((status, answer["error"]), (400, "invalid_request"))

    def test_refresh_token_grant(self):
        u = self.emu.user
        form = {"grant_type": "refresh_token", "client_id": u["client_id"],
                "client_secret": u["client_secret"], "refresh_token": u["refresh_token"]}
        status, answer = self.emu.token_request(form)
        self.assertEqual(status, 200, answer)
        status, _ = self.emu.compute("GET", "global/firewalls", token=answer["access_token"])
        self.assertEqual(status, 200)
        self.assertEqual(self.emu.token_request(dict(form, client_secret="x")),
                         (401, {"error": "invalid_client", "error_description": "Unauthorized"}))
        self.assertEqual(self.emu.token_request(dict(form, refresh_token="x")),
                         (400, {"error": "invalid_grant", "error_description": "Bad Request"}))


class ComputeApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.emu = Emu("--no-hosts", "--fake-delay", "0.1", "--wait-seconds", "5")
        cls.token = cls.emu.token()

    @classmethod
    def tearDownClass(cls):
        code = cls.emu.stop()
        assert code == 0, code

    def setUp(self):
        self.emu.control("POST", "inject/clear", {})

    def api(self, method, rel, body=None, token=None):
        return self.emu.compute(method, rel, body, token or self.token)

    def insert(self, name, body=None):
        status, op = self.api("POST", "zones/%s/instances" % ZONE, body or insert_body(name))
        self.assertEqual(status, 200, op)
        return op

    def assert_error(self, answer, code, reason):
        self.assertEqual(shape(answer), shape(vector("compute", "error-404-not-found.json"))
                         if "status" not in answer["error"] else shape(answer))
        self.assertEqual(answer["error"]["code"], code, answer)
        self.assertEqual(answer["error"]["errors"][0]["reason"], reason, answer)

    def test_without_or_with_expired_token(self):
        want = vector("compute", "error-401-unauthenticated.json")
        self.assertEqual(self.emu.compute("GET", "zones/%s/instances" % ZONE), (401, want))
        self.assertEqual(self.emu.compute("GET", "zones/%s/instances" % ZONE,
                                          token="ya29.unknown"), (401, want))
        token = self.emu.token()
        self.emu.control("POST", "clock", {"offset_seconds": 3600})
        try:
            self.assertEqual(self.emu.compute("GET", "zones/%s/instances" % ZONE, token=token),
                             (401, want))
        finally:
            self.emu.control("POST", "clock", {"offset_seconds": 0})
        self.assertEqual(self.emu.compute("GET", "zones/%s/instances" % ZONE,
                                          token=token)[0], 200)

    def test_read_only_scope_cannot_insert(self):
        ro = self.emu.token("https://www.googleapis.com/auth/compute.readonly")
        self.assertEqual(self.emu.compute("GET", "global/firewalls", token=ro)[0], 200)
        status, answer = self.emu.compute("POST", "global/firewalls",
                                          vector("compute", "firewalls-insert-request.json"),
                                          token=ro)
        self.assertEqual(status, 403)
        self.assertEqual(answer["error"]["errors"][0]["reason"], "insufficientPermissions")

    def test_insert_body_checks(self):
        cases = [
            (dict(insert_body("ok-1"), hostnme="x"), 400, "Unknown name \"hostnme\""),
            (dict(insert_body("Bad_Name")), 400, "resource.name"),
            (dict(insert_body("ok-2"), machineType="zones/us-central1-a/machineTypes/e2-huge"),
             400, "Machine type with name 'e2-huge' does not exist"),
            (dict(insert_body("ok-3"), machineType="zones/europe-west1-b/machineTypes/e2-small"),
             400, "resource.machineType"),
            (dict(insert_body("ok-4"), machineType="e2-small"), 400, "resource.machineType"),
        ]
        number = insert_body("ok-5")
        number["disks"][0]["initializeParams"]["diskSizeGb"] = 10
        cases.append((number, 400, "TYPE_INT64"))
        small = insert_body("ok-6")
        small["disks"][0]["initializeParams"]["diskSizeGb"] = "5"
        cases.append((small, 400, "smaller than the image size"))
        family = insert_body("ok-7")
        family["disks"][0]["initializeParams"]["sourceImage"] = \
            "projects/debian-cloud/global/images/family/debian-9"
        cases.append((family, 404, "projects/debian-cloud/global/images/family/debian-9"))
        net = insert_body("ok-8")
        net["networkInterfaces"][0]["network"] = "global/networks/other"
        cases.append((net, 404, "global/networks/other"))
        enum = insert_body("ok-9")
        enum["networkInterfaces"][0]["accessConfigs"][0]["type"] = "NAT"
        cases.append((enum, 400, "TYPE_ENUM"))
        for body, code, text in cases:
            status, answer = self.api("POST", "zones/%s/instances" % ZONE, body)
            self.assertEqual(status, code, (text, answer))
            self.assertIn(text, answer["error"]["message"])
            self.assertEqual(answer["error"]["errors"][0]["reason"],
                             "invalid" if code == 400 else "notFound")
        status, answer = self.api("POST", "zones/us-west9-z/instances", insert_body("ok-10"))
        self.assertEqual((status, answer["error"]["errors"][0]["reason"]), (404, "notFound"))
        status, answer = self.emu.request("POST", "/compute/v1/projects/%s/zones/%s/instances"
                                          % (PROJECT, ZONE), raw=b"{nope", token=self.token)
        self.assertEqual(status, 400)
        status, answer = self.api("GET", "zones/%s/instances?foo=1" % ZONE)
        self.assertEqual(status, 400)
        self.assertEqual(self.emu.control("GET", "state")[1]["instances"], [])

    def test_lifecycle_shapes_and_polling(self):
        op = self.insert("web-1")
        want = vector("compute", "instances-insert-response-operation-pending.json")
        self.assertEqual(shape(op), shape(want))
        self.assertEqual(op["status"], "PENDING")
        self.assertEqual(op["targetLink"], "https://www.googleapis.com/compute/v1/projects/"
                         "example-project/zones/us-central1-a/instances/web-1")
        self.assertTrue(op["selfLink"].endswith("/zones/us-central1-a/operations/" + op["name"]))
        seen = set()
        deadline = time.monotonic() + 20
        while True:
            status, got = self.api("GET", "zones/%s/operations/%s" % (ZONE, op["name"]))
            self.assertEqual(status, 200)
            _, inst = self.api("GET", "zones/%s/instances/web-1" % ZONE)
            seen.add(inst["status"])
            if got["status"] == "DONE":
                break
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        self.assertEqual(shape(got), shape(vector("compute", "zone-operation-done.json")))
        self.assertTrue(seen & {"PROVISIONING", "STAGING"}, seen)
        status, inst = self.api("GET", "zones/%s/instances/web-1" % ZONE)
        self.assertEqual(inst["status"], "RUNNING")
        self.assertEqual(shape(inst), shape(vector("compute", "instance-get-running.json")))
        nic = inst["networkInterfaces"][0]
        self.assertIn("natIP", nic["accessConfigs"][0])
        network_ip = nic["networkIP"]

        status, op = self.api("POST", "zones/%s/instances/web-1/stop" % ZONE)
        self.assertEqual(shape(op), shape(vector("compute",
                                                 "instances-stop-response-operation-pending.json")))
        self.emu.wait_done(op, self.token)
        _, inst = self.api("GET", "zones/%s/instances/web-1" % ZONE)
        self.assertEqual(inst["status"], "TERMINATED")
        self.assertEqual(shape(inst), shape(vector("compute", "instance-get-terminated.json")))
        self.assertNotIn("natIP", inst["networkInterfaces"][0]["accessConfigs"][0])
        status, answer = self.api("POST", "zones/%s/instances/web-1/reset" % ZONE)
        self.assertEqual((status, answer["error"]["errors"][0]["reason"]),
                         (400, "resourceNotReady"))
        status, op = self.api("POST", "zones/%s/instances/web-1/stop" % ZONE)  # no-op
        self.assertEqual(self.emu.wait_done(op, self.token).get("error"), None)

        _, op = self.api("POST", "zones/%s/instances/web-1/start" % ZONE)
        self.assertEqual(self.emu.wait_done(op, self.token)["operationType"], "start")
        _, inst = self.api("GET", "zones/%s/instances/web-1" % ZONE)
        self.assertEqual(inst["status"], "RUNNING")
        self.assertEqual(inst["networkInterfaces"][0]["networkIP"], network_ip)
        self.assertIn("natIP", inst["networkInterfaces"][0]["accessConfigs"][0])
        _, op = self.api("POST", "zones/%s/instances/web-1/start" % ZONE)   # no-op on RUNNING
        self.assertNotIn("error", self.emu.wait_done(op, self.token))
        _, op = self.api("POST", "zones/%s/instances/web-1/reset" % ZONE)
        self.assertNotIn("error", self.emu.wait_done(op, self.token))

        status, listed = self.api("GET", "zones/%s/instances?filter=%s" %
                                  (ZONE, urllib.parse.quote('labels.managed-by = "provisioner"')))
        self.assertEqual((status, [i["name"] for i in listed["items"]]), (200, ["web-1"]))
        status, listed = self.api("GET", "zones/%s/instances?filter=%s" %
                                  (ZONE, urllib.parse.quote("name = other")))
        self.assertEqual((status, "items" in listed), (200, False))
        status, agg = self.api("GET", "aggregated/instances")
        self.assertEqual((status, agg["kind"]), (200, "compute#instanceAggregatedList"))
        self.assertEqual([i["name"] for i in agg["items"]["zones/" + ZONE]["instances"]],
                         ["web-1"])
        self.assertEqual(agg["items"]["zones/us-east1-b"]["warning"]["code"],
                         "NO_RESULTS_ON_PAGE")

        status, op = self.api("DELETE", "zones/%s/instances/web-1" % ZONE)
        self.assertEqual(shape(op), shape(vector(
            "compute", "instances-delete-response-operation-pending.json")))
        self.emu.wait_done(op, self.token)
        status, answer = self.api("GET", "zones/%s/instances/web-1" % ZONE)
        want = vector("compute", "error-404-not-found.json")
        self.assertEqual(status, 404)
        self.assertEqual(json.dumps(answer).replace("web-1", "web-9"), json.dumps(want))

    def test_duplicate_insert_fails_inside_the_operation(self):
        self.emu.wait_done(self.insert("dup"), self.token)
        op = self.emu.wait_done(self.insert("dup"), self.token)
        want = vector("compute", "zone-operation-done-error-already-exists.json")
        self.assertEqual(shape(op), shape(want))
        self.assertEqual(op["error"]["errors"][0]["code"], "RESOURCE_ALREADY_EXISTS")
        self.assertEqual((op["httpErrorStatusCode"], op["httpErrorMessage"]), (409, "CONFLICT"))
        self.emu.wait_done(self.api("DELETE", "zones/%s/instances/dup" % ZONE)[1], self.token)

    def test_quota_injection(self):
        status, _ = self.emu.control("POST", "inject", {"action": "instances.insert",
                                                        "code": "QUOTA_EXCEEDED"})
        self.assertEqual(status, 200)
        op = self.insert("quota-1")
        self.assertEqual(op["status"], "DONE")
        op = self.emu.wait_done(op, self.token)
        self.assertEqual(shape(op), shape(vector("compute", "zone-operation-done-error-quota.json")))
        self.assertEqual(op["error"]["errors"][0]["code"], "QUOTA_EXCEEDED")
        self.assertEqual(op["httpErrorStatusCode"], 403)
        self.assertEqual(self.api("GET", "zones/%s/instances/quota-1" % ZONE)[0], 404)
        # only the next insert was hit
        op = self.emu.wait_done(self.insert("quota-2"), self.token)
        self.assertNotIn("error", op)
        self.emu.wait_done(self.api("DELETE", "zones/%s/instances/quota-2" % ZONE)[1],
                           self.token)

    def test_throttling_injection_and_stats(self):
        self.emu.control("POST", "stats/reset", {})
        self.emu.control("POST", "inject", {"action": "*", "code": 429, "count": 2})
        for _ in range(2):
            status, answer = self.api("GET", "global/firewalls")
            self.assertEqual(status, 429)
            self.assertEqual(answer["error"]["errors"][0]["reason"], "rateLimitExceeded")
        self.assertEqual(self.api("GET", "global/firewalls")[0], 200)
        self.emu.control("POST", "inject", {"action": "instances.get", "code": 503})
        self.assertEqual(self.api("GET", "global/firewalls")[0], 200)
        self.assertEqual(self.api("GET", "zones/%s/instances/x" % ZONE)[0], 503)
        _, stats = self.emu.control("GET", "stats")
        self.assertEqual(stats["calls"]["compute.firewalls.list"], 4)
        self.assertEqual(stats["calls"]["compute.instances.get"], 1)
        self.assertEqual(stats["errors"]["compute.firewalls.list 429"], 2)

    def test_injection_control(self):
        self.assertEqual(self.emu.control("POST", "inject", {"action": "instances.insert",
                                                             "code": "NO_SSH", "count": 2})[0],
                         200)
        self.assertEqual(self.emu.control("POST", "inject", {"code": 418})[0], 400)
        self.assertEqual(self.emu.control("POST", "inject", {"action": "instances.get",
                                                             "code": "QUOTA_EXCEEDED"})[0], 400)
        _, stats = self.emu.control("GET", "stats")
        self.assertEqual([i["code"] for i in stats["injections"]], ["NO_SSH", "NO_SSH"])
        self.emu.control("POST", "inject/clear", {})
        self.assertEqual(self.emu.control("GET", "stats")[1]["injections"], [])
        self.emu.control("POST", "inject", {"action": "token", "code": 503})
        status, _ = self.emu.token_request({"grant_type": gce_oauth.JWT_GRANT,
                                            "assertion": sign_jwt(self.emu.claims())})
        self.assertEqual(status, 503)

    def test_request_id_makes_insert_idempotent(self):
        rid = "6f1c8f2e-7a3b-4e55-9d1a-0b2c3d4e5f60"
        path = "zones/%s/instances?requestId=%s" % (ZONE, rid)
        _, op1 = self.api("POST", path, insert_body("idem"))
        _, op2 = self.api("POST", path, insert_body("idem"))
        self.assertEqual(op1["name"], op2["name"])
        self.assertNotIn("error", self.emu.wait_done(op1, self.token))
        self.emu.wait_done(self.api("DELETE", "zones/%s/instances/idem" % ZONE)[1], self.token)

    def test_firewalls_and_images(self):
        body = vector("compute", "firewalls-insert-request.json")
        status, op = self.api("POST", "global/firewalls", body)
        self.assertEqual(status, 200, op)
        self.assertEqual(shape(op), shape(vector(
            "compute", "firewalls-insert-response-operation-pending.json")))
        op = self.emu.wait_done(op, self.token)
        self.assertEqual(shape(op), shape(vector("compute", "global-operation-done.json")))
        status, fw = self.api("GET", "global/firewalls/allow-ssh-web")
        want = vector("compute", "firewall-get.json")
        self.assertEqual(shape(fw), shape(want))
        for key in ("name", "network", "priority", "sourceRanges", "targetTags", "allowed",
                    "direction", "selfLink", "description"):
            self.assertEqual(fw[key], want[key], key)
        status, answer = self.api("POST", "global/firewalls", body)
        self.assertEqual((status, answer), (409, vector("compute", "error-409-already-exists.json")))
        members = {"name": "swarm", "network": "global/networks/default",
                   "allowed": [{"IPProtocol": "tcp", "ports": ["2377", "7946"]},
                               {"IPProtocol": "udp", "ports": ["7946", "4789"]}],
                   "sourceTags": ["swarm"], "targetTags": ["swarm"]}
        self.emu.wait_done(self.api("POST", "global/firewalls", members)[1], self.token)
        _, fw = self.api("GET", "global/firewalls/swarm")
        self.assertNotIn("sourceRanges", fw)
        _, listed = self.api("GET", "global/firewalls")
        self.assertEqual([f["name"] for f in listed["items"]], ["allow-ssh-web", "swarm"])
        for bad in ({"name": "x", "allowed": [{"IPProtocol": "tcp", "ports": [22]}]},
                    {"name": "x", "allowed": [{"IPProtocol": "icmp", "ports": ["22"]}]},
                    {"name": "x", "allowed": [{"IPProtocol": "tcp"}], "sourceRanges": ["1.2.3"]},
                    {"name": "x"}, {"name": "x", "allowed": [{"protocol": "tcp"}]}):
            status, answer = self.api("POST", "global/firewalls", bad)
            self.assertEqual(status, 400, (bad, answer))
        for name in ("allow-ssh-web", "swarm"):
            self.emu.wait_done(self.api("DELETE", "global/firewalls/" + name)[1], self.token)
        self.assertEqual(self.api("GET", "global/firewalls/swarm")[0], 404)
        status, image = self.emu.request(
            "GET", "/compute/v1/projects/debian-cloud/global/images/family/debian-12",
            token=self.token)
        self.assertEqual((status, image["family"], image["status"]), (200, "debian-12", "READY"))
        self.assertEqual(self.emu.request(
            "GET", "/compute/v1/projects/debian-cloud/global/images/family/debian-8",
            token=self.token)[0], 404)
        status, zone = self.api("GET", "zones/" + ZONE)
        self.assertEqual((status, zone["status"]), (200, "UP"))
        self.assertTrue(zone["region"].endswith("/regions/us-central1"))
        self.assertEqual(self.api("GET", "zones/%s/machineTypes/e2-small" % ZONE)[0], 200)
        self.assertEqual(self.api("GET", "zones/%s/machineTypes/e2-big" % ZONE)[0], 404)
        self.assertEqual(self.api("GET", "global/networks/default")[0], 200)
        self.assertEqual(self.api("GET", "global/networks/other")[0], 404)

    def test_set_metadata_tags_and_patch_firewall(self):
        self.emu.wait_done(self.insert("meta"), self.token)
        _, inst = self.api("GET", "zones/%s/instances/meta" % ZONE)
        items = inst["metadata"]["items"] + [{"key": "extra", "value": "1"}]
        status, answer = self.api("POST", "zones/%s/instances/meta/setMetadata" % ZONE,
                                  {"fingerprint": "stale000000=", "items": items})
        self.assertEqual((status, answer["error"]["errors"][0]["reason"]),
                         (412, "conditionNotMet"))
        status, op = self.api("POST", "zones/%s/instances/meta/setMetadata" % ZONE,
                              {"fingerprint": inst["metadata"]["fingerprint"], "items": items})
        self.assertEqual((status, op["operationType"]), (200, "setMetadata"))
        self.assertNotIn("error", self.emu.wait_done(op, self.token))
        _, op = self.api("POST", "zones/%s/instances/meta/setTags" % ZONE,
                         {"fingerprint": inst["tags"]["fingerprint"], "items": ["swarm"]})
        self.assertNotIn("error", self.emu.wait_done(op, self.token))
        _, after = self.api("GET", "zones/%s/instances/meta" % ZONE)
        self.assertEqual(after["metadata"]["items"][-1], {"key": "extra", "value": "1"})
        self.assertNotEqual(after["metadata"]["fingerprint"], inst["metadata"]["fingerprint"])
        self.assertEqual(after["tags"]["items"], ["swarm"])
        self.emu.wait_done(self.api("DELETE", "zones/%s/instances/meta" % ZONE)[1], self.token)

        body = vector("compute", "firewalls-insert-request.json")
        self.emu.wait_done(self.api("POST", "global/firewalls", body)[1], self.token)
        status, op = self.emu.request(
            "PATCH", "/compute/v1/projects/%s/global/firewalls/allow-ssh-web" % PROJECT,
            {"allowed": [{"IPProtocol": "tcp", "ports": ["22", "2376"]}]}, self.token)
        self.assertEqual((status, op["operationType"]), (200, "patch"))
        self.emu.wait_done(op, self.token)
        _, fw = self.api("GET", "global/firewalls/allow-ssh-web")
        self.assertEqual(fw["allowed"], [{"IPProtocol": "tcp", "ports": ["22", "2376"]}])
        self.assertEqual(fw["targetTags"], ["web"])
        self.emu.wait_done(self.api("DELETE", "global/firewalls/allow-ssh-web")[1], self.token)

    def test_zz_nothing_left(self):
        _, state = self.emu.control("GET", "state")
        self.assertEqual(state["instances"], [])
        self.assertEqual(state["firewalls"], [])
        self.assertEqual(state["operations"]["not_done"], 0)
        self.assertGreater(state["tokens_issued"], 0)


def e2e_skip_reason():
    if os.geteuid() != 0:
        return "not root (the local driver needs root)"
    if not os.access(DMACHINE, os.X_OK):
        return "no dmachine binary at %s (build it, or set DMACHINE)" % DMACHINE
    if not shutil.which("ssh") or not shutil.which("ssh-keygen"):
        return "no ssh/ssh-keygen"
    return None


class RealHost(unittest.TestCase):
    """One instance as a real local machine: SSH as the metadata's user."""

    def setUp(self):
        reason = e2e_skip_reason()
        if reason:
            SKIPPED_E2E.append(reason)
            self.skipTest(reason)
        self.tmp = tempfile.mkdtemp(prefix="gceemu-e2e-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.key = os.path.join(self.tmp, "id_ed25519")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "gceemu-test",
                        "-f", self.key], check=True)
        self.emu = Emu("--dmachine", DMACHINE, "--wait-seconds", "30")
        self.addCleanup(self._stop)

    def _stop(self):
        self.assertEqual(self.emu.stop(), 0, "emulator did not clean up; log above")

    def ssh(self, ip, command):
        return subprocess.run(
            ["ssh", "-i", self.key, "-o", "StrictHostKeyChecking=no", "-o",
             "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
             "-o", "LogLevel=ERROR", "alice@" + ip, command],
            capture_output=True, text=True, timeout=60)

    def test_instance_is_a_real_host(self):
        token = self.emu.token()
        with open(self.key + ".pub") as f:
            pub = f.read().strip()
        started = time.monotonic()
        status, op = self.emu.compute("POST", "zones/%s/instances" % ZONE,
                                      insert_body("e2e-1", "alice:" + pub), token)
        self.assertEqual(status, 200, op)
        op = self.emu.wait_done(op, token)
        self.assertNotIn("error", op, self.emu.log_text()[-3000:])
        _, inst = self.emu.compute("GET", "zones/%s/instances/e2e-1" % ZONE, token=token)
        self.assertEqual(inst["status"], "RUNNING")
        ip = inst["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
        self.assertEqual(ip, inst["networkInterfaces"][0]["networkIP"])
        result = None
        for _ in range(30):   # the guest agent adds alice just after RUNNING
            result = self.ssh(ip, "sudo -n id -u; id -un")
            if result.returncode == 0:
                break
            time.sleep(0.5)
        ready = time.monotonic() - started
        self.assertEqual(result.stdout.split(), ["0", "alice"], result.stderr)
        print("\ninsert -> SSH as alice with sudo: %.1f s" % ready, file=sys.stderr)

        _, op = self.emu.compute("POST", "zones/%s/instances/e2e-1/stop" % ZONE, token=token)
        self.assertNotIn("error", self.emu.wait_done(op, token))
        _, inst = self.emu.compute("GET", "zones/%s/instances/e2e-1" % ZONE, token=token)
        self.assertEqual(inst["status"], "TERMINATED")
        self.assertNotIn("natIP", inst["networkInterfaces"][0]["accessConfigs"][0])
        self.assertNotEqual(self.ssh(ip, "true").returncode, 0)

        t = time.monotonic()
        _, op = self.emu.compute("POST", "zones/%s/instances/e2e-1/start" % ZONE, token=token)
        self.assertNotIn("error", self.emu.wait_done(op, token))
        _, inst = self.emu.compute("GET", "zones/%s/instances/e2e-1" % ZONE, token=token)
        self.assertEqual(inst["status"], "RUNNING")
        ip = inst["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
        result = None
        for _ in range(30):   # sshd comes up a moment after the start operation
            result = self.ssh(ip, "id -un")
            if result.returncode == 0:
                break
            time.sleep(1)
        self.assertEqual(result.stdout.strip(), "alice", result.stderr)
        print("start -> SSH: %.1f s" % (time.monotonic() - t), file=sys.stderr)

        _, op = self.emu.compute("DELETE", "zones/%s/instances/e2e-1" % ZONE, token=token)
        self.assertNotIn("error", self.emu.wait_done(op, token))
        self.assertEqual(self.emu.compute("GET", "zones/%s/instances/e2e-1" % ZONE,
                                          token=token)[0], 404)
        _, state = self.emu.control("GET", "state")
        self.assertEqual((state["instances"], state["host_work_pending"]), ([], 0))

        # SIGTERM with an instance still running: the emulator removes its host
        _, op = self.emu.compute("POST", "zones/%s/instances" % ZONE,
                                 insert_body("e2e-2", "alice:" + pub), token)
        self.assertNotIn("error", self.emu.wait_done(op, token))
        _, state = self.emu.control("GET", "state")
        self.assertEqual([i["status"] for i in state["instances"]], ["RUNNING"])
        store = [line for line in self.emu.log_text().splitlines() if "hosts: /" in line]
        self.assertTrue(store)
        store_dir = store[0].rsplit("hosts: ", 1)[1].strip()
        self.assertTrue(os.path.isdir(store_dir))
        self.assertEqual(self.emu.stop(), 0)
        self.assertFalse(os.path.exists(store_dir), store_dir)
        links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True,
                               text=True).stdout
        self.assertNotIn("dmgceemu0", links)


if __name__ == "__main__":
    program = unittest.main(exit=False, verbosity=2)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if SKIPPED_E2E:
        print("SKIP real-host test: %s" % SKIPPED_E2E[0])
        sys.exit(77)
    sys.exit(0)
