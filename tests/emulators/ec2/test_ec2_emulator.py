#!/usr/bin/python3
"""Tests of the EC2 emulator itself (stdlib unittest).

    python3 tests/emulators/ec2/test_ec2_emulator.py [-v]

API tests run the emulator with --no-hosts (no root needed). The end-to-end
test (real local machine: RunInstances -> SSH as admin -> Stop -> Start ->
Terminate -> nothing left) needs root and the dmachine binary (DMACHINE, else
build/dmachine); without them it is skipped with the reason and the script
exits 77 once everything else passed. Requests are signed with sigv4.py, the
emulator's own signer, checked here against AWS's SigV4 suite.
"""

import base64
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))

import sigv4  # noqa: E402
from ec2_images import DEBIAN_OWNER  # noqa: E402


def _vectors_dir():
    for candidate in (os.environ.get("VECTORS_DIR"), os.path.join(REPO, "tests", "vectors"),
                      os.path.join(REPO, "..", "shared", "vectors")):
        if candidate and os.path.isdir(os.path.join(candidate, "sigv4")):
            return candidate
    return None


VECTORS = _vectors_dir()
NS = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
TOKEN_KEY = "ASIATEMPEXAMPLE"
TOKEN_SECRET = "tempSecretForTheEmulatorTests0000000000"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN//////////wEaDExample+Token/Value=="
DMACHINE = os.environ.get("DMACHINE", os.path.join(REPO, "build", "dmachine"))


def local(tag):
    return tag.split("}", 1)[-1]


def paths(element, prefix=""):
    out = set()
    for child in element:
        path = prefix + "/" + local(child.tag)
        out.add(path)
        out |= paths(child, path)
    return out


def find(element, path):
    """Text of a namespaced path like 'reservationSet/item/instancesSet/item/instanceId'."""
    node = element.find("/".join(NS + p for p in path.split("/")))
    return None if node is None else (node.text or "")


def findall(element, path):
    return element.findall("/".join(NS + p for p in path.split("/")))


class Emulator:
    """Runs ec2_emulator.py as a child process and talks to it."""

    def __init__(self, extra=(), timeout=20):
        self.dir = tempfile.mkdtemp(prefix="ec2emu-test-")
        creds = os.path.join(self.dir, "creds.json")
        with open(creds, "w", encoding="utf-8") as f:
            json.dump({KEY: {"secret": SECRET},
                       TOKEN_KEY: {"secret": TOKEN_SECRET, "session_token": TOKEN}}, f)
        self.port_file = os.path.join(self.dir, "port")
        self.log = os.path.join(self.dir, "emulator.log")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "ec2_emulator.py"), "--credentials", creds,
             "--port-file", self.port_file, "--log", self.log] + list(extra),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emulator did not start: %s" % self.proc.stdout.read())
            time.sleep(0.05)
        with open(self.port_file, encoding="utf-8") as f:
            self.port = int(f.read())

    def stop(self, timeout=600):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        code = self.proc.returncode
        shutil.rmtree(self.dir, ignore_errors=True)
        return code

    def control(self, method, path, data=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        body = json.dumps(data).encode() if data is not None else None
        conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        response = conn.getresponse()
        answer = json.loads(response.read())
        conn.close()
        return response.status, answer

    def call(self, action, params=(), **kw):
        return self.client().call(action, params, **kw)

    def client(self, **kw):
        return Client(self.port, **kw)


class Client:
    def __init__(self, port, key=KEY, secret=SECRET, token=None, region="us-east-1"):
        self.port, self.key, self.secret, self.token, self.region = port, key, secret, token, region

    def call(self, action, params=(), method="POST", version="2016-11-15", sign=True,
             skew=0, service="ec2", region=None, secret=None, quote=urllib.parse.quote_plus,
             tamper=None, sign_token=True):
        pairs = []
        if action is not None:
            pairs.append(("Action", action))
        if version is not None:
            pairs.append(("Version", version))
        pairs += list(params.items() if isinstance(params, dict) else params)
        encoded = urllib.parse.urlencode(pairs, quote_via=quote)
        host = "127.0.0.1:%d" % self.port
        headers = [("Host", host)]
        if method == "POST":
            url, body = "/", encoded.encode()
            headers.append(("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"))
            query = ""
        else:
            url, body, query = "/?" + encoded, b"", encoded
        if sign:
            amz_date = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() + skew))
            token = self.token if sign_token else None
            headers = sigv4.sign(method, "/", query, headers, body, self.key,
                                 secret or self.secret, region or self.region, service, amz_date,
                                 session_token=token)
            if self.token and not sign_token:
                headers.append(("X-Amz-Security-Token", self.token))
        if tamper:
            body = tamper(body)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        conn.putrequest(method, url, skip_host=True, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        return response.status, ET.fromstring(raw), raw


def error_of(root):
    """(code, message, request id) of an EC2 error document, asserting its shape."""
    assert local(root.tag) == "Response", root.tag
    assert [local(c.tag) for c in root] == ["Errors", "RequestID"], [c.tag for c in root]
    error = root.find("Errors/Error")
    return error.find("Code").text, error.find("Message").text, root.find("RequestID").text


def load_vector(name):
    return ET.parse(os.path.join(VECTORS, "ec2", name)).getroot()


def expected_errors():
    with open(os.path.join(VECTORS, "ec2", "expected.json"), encoding="utf-8") as f:
        data = json.load(f)
    return {k: v for k, v in data.items() if k.startswith("errors/")} if isinstance(data, dict) else {}


def ssh_keygen(directory, key_type, bits=None):
    path = os.path.join(directory, "id_" + key_type)
    cmd = ["ssh-keygen", "-q", "-t", key_type, "-N", "", "-C", "test@ec2emu", "-f", path]
    if bits:
        cmd += ["-b", str(bits)]
    subprocess.run(cmd, check=True)
    with open(path + ".pub", encoding="ascii") as f:
        return path, f.read().strip()


def latest_debian(client):
    """The newest Debian 12 amd64 image, found as a driver finds it."""
    status, root, raw = client.call("DescribeImages", {
        "Owner.1": DEBIAN_OWNER, "Filter.1.Name": "name", "Filter.1.Value.1": "debian-12-amd64-*"})
    assert status == 200, raw
    return sorted((find(i, "creationDate"), find(i, "imageId"))
                  for i in findall(root, "imagesSet/item"))[-1][1]


def b64(text):
    return base64.b64encode(text.encode()).decode()


# ====================================================================== SigV4

@unittest.skipIf(VECTORS is None, "the shared vectors (sigv4/, ec2/) are not here")
class TestSigV4Vectors(unittest.TestCase):
    """sigv4.py against AWS's 34-case suite and the EC2 signed requests."""

    SUITE_TOKEN = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"

    def cases(self, root):
        for directory, _, files in sorted(os.walk(root)):
            for f in files:
                if f.endswith(".req"):
                    yield directory, f[:-4]

    def read(self, directory, case, ext):
        with open(os.path.join(directory, case + ext), encoding="utf-8") as f:
            return f.read()

    def check_case(self, directory, case, secret):
        method, path, query, headers, body = sigv4.parse_raw_request(
            self.read(directory, case, ".req"))
        authz = self.read(directory, case, ".authz")
        fields, problem = sigv4.parse_authorization(authz)
        self.assertIsNone(problem)
        token = self.SUITE_TOKEN if case == "get-vanilla-with-session-token" else None
        if token:
            headers.append(("X-Amz-Security-Token", token))
        creq = sigv4.canonical_request(method, path, query, headers, fields["signed_headers"], body)
        self.assertEqual(creq, self.read(directory, case, ".creq"), case)
        amz_date = [v for n, v in headers if n.lower() == "x-amz-date"][0]
        scope = "/".join([fields["date"], fields["region"], fields["service"], "aws4_request"])
        self.assertEqual(sigv4.string_to_sign(amz_date, scope, creq),
                         self.read(directory, case, ".sts"), case)
        self.assertTrue(sigv4.verify(method, path, query, headers, body, fields, secret), case)
        # Signing from scratch gives the published Authorization.
        unsigned = [(n, v) for n, v in headers if n.lower() != "x-amz-security-token"
                    or case == "post-sts-header-before"]
        if case == "post-sts-header-after":
            unsigned = [(n, v) for n, v in headers if n.lower() != "x-amz-security-token"]
        signed = sigv4.sign(method, path, query, unsigned, body, fields["access_key"], secret,
                            fields["region"], fields["service"], amz_date,
                            session_token=token, signed_names=fields["signed_headers"])
        self.assertEqual(signed[-1], ("Authorization", authz), case)
        wrong = dict(fields, Signature="0" * 64)
        self.assertFalse(sigv4.verify(method, path, query, headers, body, wrong, secret))

    def test_aws_suite_all_34_cases(self):
        cases = list(self.cases(os.path.join(VECTORS, "sigv4")))
        self.assertEqual(len(cases), 34)
        for directory, case in cases:
            with self.subTest(case=case):
                self.check_case(directory, case, SECRET)

    def test_ec2_signed_requests(self):
        cases = list(self.cases(os.path.join(VECTORS, "ec2", "signed-requests")))
        self.assertEqual(len(cases), 4)
        for directory, case in cases:
            with self.subTest(case=case):
                self.check_case(directory, case, SECRET)

    def test_signing_key(self):
        self.assertEqual(sigv4.signing_key(SECRET, "20150830", "us-east-1", "ec2").hex(),
                         "f683de3415e2edd5bd3ecba80fa9f855f4018470ccc66c03bb658895fef3aed2")
        self.assertEqual(sigv4.signing_key(SECRET, "20150830", "us-east-1", "service").hex(),
                         "938127b5336810ddb6a5d6af445fcac9e371f9ed418ed386b022aed82901be75")


# ====================================================================== API

class ApiTestCase(unittest.TestCase):
    extra = ("--no-hosts", "--fake-delay", "0.2", "--terminated-ttl", "3")

    @classmethod
    def setUpClass(cls):
        cls.emu = Emulator(cls.extra)

    @classmethod
    def tearDownClass(cls):
        code = cls.emu.stop(timeout=30)
        if code != 0:
            raise AssertionError("the emulator did not shut down cleanly (exit %s)" % code)

    def ok(self, action, params=(), **kw):
        status, root, raw = self.emu.call(action, params, **kw)
        self.assertEqual(status, 200, raw.decode())
        self.assertEqual(root.tag, NS + action + "Response")
        self.assertTrue(find(root, "requestId"))
        return root

    def fails(self, action, params, code, status=400, message=None, **kw):
        got_status, root, raw = self.emu.call(action, params, **kw)
        got_code, got_message, req_id = error_of(root)
        self.assertEqual((got_status, got_code), (status, code), raw.decode())
        self.assertTrue(req_id)
        if message is not None:
            self.assertEqual(got_message, message)
        return got_message

    def wait_state(self, iid, wanted, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            root = self.ok("DescribeInstances", {"InstanceId.1": iid})
            if find(root, "reservationSet/item/instancesSet/item/instanceState/name") == wanted:
                return root
            time.sleep(0.1)
        self.fail("%s never reached %s" % (iid, wanted))

    def debian_image(self):
        return latest_debian(self.emu.client())

    def run_instance(self, extra=()):
        params = {"ImageId": self.debian_image(), "InstanceType": "t3.micro", "MinCount": "1",
                  "MaxCount": "1"}
        params.update(dict(extra))
        root = self.ok("RunInstances", params)
        return root, find(root, "instancesSet/item/instanceId")


class TestAuthentication(ApiTestCase):
    def test_good_signature_post_and_get(self):
        self.ok("DescribeInstances")
        self.ok("DescribeInstances", method="GET")

    def test_wrong_secret(self):
        self.fails("DescribeInstances", (), "SignatureDoesNotMatch", 403,
                   "The request signature we calculated does not match the signature you "
                   "provided. Check your AWS Secret Access Key and signing method. Consult the "
                   "service documentation for details.", secret="wrong" + SECRET)

    def test_body_changed_after_signing(self):
        self.fails("DescribeInstances", {"InstanceId.1": "i-1234567890abcdef0"},
                   "SignatureDoesNotMatch", 403,
                   tamper=lambda b: b.replace(b"i-1234567890abcdef0", b"i-1234567890abcdef1"))

    def test_expired_and_future_dates(self):
        self.fails("DescribeInstances", (), "RequestExpired", 400, "Request has expired.",
                   skew=-16 * 60)
        self.fails("DescribeInstances", (), "RequestExpired", 400, skew=16 * 60)
        self.ok("DescribeInstances", skew=-14 * 60)

    def test_unknown_access_key(self):
        status, root, _ = self.emu.client(key="AKIDUNKNOWN").call("DescribeInstances")
        self.assertEqual(status, 401)
        self.assertEqual(error_of(root)[:2], ("AuthFailure", "AWS was not able to validate the "
                                              "provided access credentials"))

    def test_missing_authorization(self):
        self.fails("DescribeInstances", (), "MissingParameter", 400,
                   "The request must contain the parameter AWSAccessKeyId", sign=False)

    def test_scope_must_be_ec2_and_region(self):
        self.fails("DescribeInstances", (), "SignatureDoesNotMatch", 403, service="iam")
        self.fails("DescribeInstances", (), "SignatureDoesNotMatch", 403, region="eu-west-1")

    def test_session_token(self):
        client = self.emu.client(key=TOKEN_KEY, secret=TOKEN_SECRET, token=TOKEN)
        status, root, raw = client.call("DescribeInstances")
        self.assertEqual(status, 200, raw)
        status, root, _ = client.call("DescribeInstances", sign_token=False)
        self.assertEqual((status, error_of(root)[0]), (400, "IncompleteSignature"))
        no_token = self.emu.client(key=TOKEN_KEY, secret=TOKEN_SECRET)
        status, root, _ = no_token.call("DescribeInstances")
        self.assertEqual((status, error_of(root)[0]), (401, "AuthFailure"))

    def test_clock_hook_expires_a_correct_client(self):
        self.emu.control("POST", "/_emulator/clock", {"offset_seconds": 3600})
        try:
            self.fails("DescribeInstances", (), "RequestExpired")
        finally:
            self.emu.control("POST", "/_emulator/clock", {"offset_seconds": 0})


class TestProtocol(ApiTestCase):
    def test_version_and_action(self):
        self.fails("DescribeInstances", (), "MissingParameter", 400,
                   "The request must contain the parameter Version", version=None)
        self.fails("DescribeInstances", (), "NoSuchVersion", 400,
                   "The requested version (2014-10-01) of service AmazonEC2 does not exist",
                   version="2014-10-01")
        self.fails("DescribeFoo", (), "InvalidAction", 400,
                   "The action DescribeFoo is not valid for this web service.")
        self.fails(None, (), "MissingParameter", 400,
                   "The request must contain the parameter Action")

    def test_unknown_parameters(self):
        self.fails("DescribeInstances", {"InstanceIds.1": "i-12345678"}, "UnknownParameter", 400,
                   "The parameter InstanceIds.1 is not recognized")
        self.fails("CreateSecurityGroup", {"GroupName": "x", "Description": "y"},
                   "UnknownParameter", 400, "The parameter Description is not recognized")
        # The SDK member name is not the wire name: UserIdGroupPairs is sent as Groups.
        self.fails("AuthorizeSecurityGroupIngress", {
            "GroupId": "sg-12345678", "IpPermissions.1.IpProtocol": "tcp",
            "IpPermissions.1.UserIdGroupPairs.1.GroupId": "sg-12345678"}, "UnknownParameter")
        self.fails("RunInstances", {"ImageId": "ami-12345678", "MinCount": "1", "MaxCount": "1",
                                    "SecurityGroupId.0": "sg-12345678"}, "UnknownParameter")

    def test_every_vector_form_body_is_understood(self):
        with open(os.path.join(VECTORS, "ec2", "requests", "form-bodies.json"),
                  encoding="utf-8") as f:
            bodies = json.load(f)
        for entry in bodies:
            pairs = urllib.parse.parse_qsl(entry["form_body"], keep_blank_values=True)
            params = [(k, v) for k, v in pairs if k not in ("Action", "Version")]
            status, root, raw = self.emu.call(entry["action"], params)
            if status != 200:
                code = error_of(root)[0]
                self.assertNotIn(code, ("UnknownParameter", "InvalidAction", "MissingParameter",
                                        "InvalidParameterValue", "SignatureDoesNotMatch"),
                                 "%s: %s" % (entry["action"], raw))

    def test_plus_and_percent20_spaces(self):
        for quote, name in ((urllib.parse.quote_plus, "plus"), (urllib.parse.quote, "pct20")):
            root = self.ok("CreateSecurityGroup", {"GroupName": "sp-" + name,
                                                   "GroupDescription": "web servers and more"},
                           quote=quote)
            gid = find(root, "groupId")
            root = self.ok("DescribeSecurityGroups", {"GroupId.1": gid}, quote=quote)
            self.assertEqual(find(root, "securityGroupInfo/item/groupDescription"),
                             "web servers and more")
            self.ok("DeleteSecurityGroup", {"GroupId": gid})

    def test_dry_run(self):
        self.fails("DescribeInstances", {"DryRun": "true"}, "DryRunOperation", 412,
                   "Request would have succeeded, but DryRun flag is set.")
        self.fails("DescribeInstances", {"DryRun": "yes"}, "InvalidParameterValue")

    def test_error_vectors_status_and_messages(self):
        """Each errors/*.xml vector reproduced with its status (expected.json)."""
        table = {}
        for name, row in expected_errors().items():
            table[row.get("code")] = row
        self.assertIn("InvalidInstanceID.NotFound", table)
        self.fails("DescribeInstances", {"InstanceId.1": "i-1a2b3c4d"},
                   "InvalidInstanceID.NotFound", table["InvalidInstanceID.NotFound"]["httpStatus"],
                   table["InvalidInstanceID.NotFound"]["message"])
        self.fails("DescribeInstances", {"InstanceId.1": "foobar"}, "InvalidInstanceID.Malformed",
                   table["InvalidInstanceID.Malformed"]["httpStatus"],
                   table["InvalidInstanceID.Malformed"]["message"])
        self.fails("DescribeInstances", {"DryRun": "true"}, "DryRunOperation",
                   table["DryRunOperation"]["httpStatus"], table["DryRunOperation"]["message"])
        status, root, _ = self.emu.client(key="AKIDNOSUCHKEY").call("DescribeVpcs")
        self.assertEqual((status, error_of(root)[:2]),
                         (table["AuthFailure"]["httpStatus"],
                          ("AuthFailure", table["AuthFailure"]["message"])))
        self.emu.control("POST", "/_emulator/inject",
                         {"action": "DescribeVpcs", "code": "RequestLimitExceeded", "count": 1})
        self.fails("DescribeVpcs", (), "RequestLimitExceeded",
                   table["RequestLimitExceeded"]["httpStatus"],
                   table["RequestLimitExceeded"]["message"])
        line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x"
        self.ok("ImportKeyPair", {"KeyName": "my-key", "PublicKeyMaterial": b64(line)})
        self.fails("ImportKeyPair", {"KeyName": "my-key", "PublicKeyMaterial": b64(line)},
                   "InvalidKeyPair.Duplicate", table["InvalidKeyPair.Duplicate"]["httpStatus"],
                   table["InvalidKeyPair.Duplicate"]["message"])
        self.ok("DeleteKeyPair", {"KeyName": "my-key"})
        gid = find(self.ok("CreateSecurityGroup", {"GroupName": "web-sg",
                                                   "GroupDescription": "web"}), "groupId")
        vpc = find(self.ok("DescribeVpcs"), "vpcSet/item/vpcId")
        self.fails("CreateSecurityGroup", {"GroupName": "web-sg", "GroupDescription": "web"},
                   "InvalidGroup.Duplicate", table["InvalidGroup.Duplicate"]["httpStatus"],
                   table["InvalidGroup.Duplicate"]["message"].replace("vpc-1a2b3c4d", vpc))
        rule = {"GroupId": gid, "IpPermissions.1.IpProtocol": "tcp",
                "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22",
                "IpPermissions.1.IpRanges.1.CidrIp": "203.0.113.0/24"}
        self.ok("AuthorizeSecurityGroupIngress", rule)
        self.fails("AuthorizeSecurityGroupIngress", rule, "InvalidPermission.Duplicate",
                   table["InvalidPermission.Duplicate"]["httpStatus"],
                   table["InvalidPermission.Duplicate"]["message"])
        self.ok("DeleteSecurityGroup", {"GroupId": gid})


class TestResponseShapes(ApiTestCase):
    """Every element path of a vector response is in the emulator's answer."""

    def assert_covers(self, vector, root, allowed_missing=()):
        self.assertEqual(local(root.tag), local(vector.tag))
        self.assertEqual(root.tag.split("}")[0], vector.tag.split("}")[0])
        missing = sorted(paths(vector) - paths(root) - set(allowed_missing))
        self.assertEqual(missing, [], "paths of %s missing" % local(vector.tag))

    def test_all_shapes(self):
        line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x"
        root = self.ok("ImportKeyPair", {"KeyName": "shape-key", "PublicKeyMaterial": b64(line)})
        self.assert_covers(load_vector("responses/import-key-pair.xml"), root)
        root = self.ok("CreateSecurityGroup", {"GroupName": "shape", "GroupDescription": "d"})
        self.assert_covers(load_vector("responses/create-security-group.xml"), root)
        gid = find(root, "groupId")
        root = self.ok("AuthorizeSecurityGroupIngress", {
            "GroupId": gid, "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22",
            "IpPermissions.1.ToPort": "22", "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0",
            "IpPermissions.2.IpProtocol": "tcp", "IpPermissions.2.FromPort": "2377",
            "IpPermissions.2.ToPort": "2377", "IpPermissions.2.Groups.1.GroupId": gid})
        self.assert_covers(load_vector("responses/authorize-security-group-ingress.xml"), root)
        root = self.ok("DescribeSecurityGroups")
        self.assert_covers(load_vector("responses/describe-security-groups.xml"), root)
        subnet = find(self.ok("DescribeSubnets"), "subnetSet/item/subnetId")
        vpc = find(self.ok("DescribeVpcs"), "vpcSet/item/vpcId")
        self.ok("CreateTags", {"ResourceId.1": subnet, "ResourceId.2": vpc, "Tag.1.Key": "Name",
                               "Tag.1.Value": "shape"})
        self.assert_covers(load_vector("responses/describe-subnets.xml"), self.ok("DescribeSubnets"))
        self.assert_covers(load_vector("responses/describe-vpcs.xml"), self.ok("DescribeVpcs"))
        self.ok("DeleteTags", {"ResourceId.1": subnet, "ResourceId.2": vpc})
        self.assert_covers(load_vector("responses/describe-instances-empty.xml"),
                           self.ok("DescribeInstances", {"Filter.1.Name": "tag:Name",
                                                         "Filter.1.Value.1": "nothing"}))
        root, iid = self.run_instance({"KeyName": "shape-key", "SecurityGroupId.1": gid,
                                       "TagSpecification.1.ResourceType": "instance",
                                       "TagSpecification.1.Tag.1.Key": "Name",
                                       "TagSpecification.1.Tag.1.Value": "shape-1"})
        # A pending instance's private IP is only known once its host exists.
        self.assert_covers(load_vector("responses/run-instances.xml"), root, (
            "/instancesSet/item/privateIpAddress",
            "/instancesSet/item/networkInterfaceSet/item/privateIpAddress"))
        self.wait_state(iid, "running")
        _, other = self.run_instance({"KeyName": "shape-key", "SecurityGroupId.1": gid})
        self.wait_state(other, "running")
        root = self.ok("StopInstances", {"InstanceId.1": other})
        self.assert_covers(load_vector("responses/stop-instances.xml"), root)
        self.wait_state(other, "stopped")
        root = self.ok("DescribeInstances")
        self.assert_covers(load_vector("responses/describe-instances.xml"), root)
        stopped = [i for i in findall(root, "reservationSet/item/instancesSet/item")
                   if find(i, "instanceId") == other][0]
        self.assertIsNone(find(stopped, "ipAddress"))
        self.assertEqual(find(stopped, "stateReason/code"), "Client.UserInitiatedShutdown")
        root = self.ok("StartInstances", {"InstanceId.1": other})
        self.assert_covers(load_vector("responses/start-instances.xml"), root)
        self.wait_state(other, "running")
        root = self.ok("RebootInstances", {"InstanceId.1": other})
        self.assert_covers(load_vector("responses/reboot-instances.xml"), root)
        root = self.ok("TerminateInstances", {"InstanceId.1": iid, "InstanceId.2": other})
        self.assert_covers(load_vector("responses/terminate-instances.xml"), root)
        for i in (iid, other):
            self.wait_state(i, "terminated")
        self.ok("DeleteSecurityGroup", {"GroupId": gid})
        self.ok("DeleteKeyPair", {"KeyName": "shape-key"})


class TestInstances(ApiTestCase):
    def test_lifecycle_states_and_errors(self):
        root, iid = self.run_instance()
        self.assertEqual(find(root, "instancesSet/item/instanceState/code"), "0")
        self.fails("StopInstances", {"InstanceId.1": iid}, "IncorrectInstanceState", 400,
                   "Instance '%s' cannot be stopped as it has never reached the 'running' "
                   "state." % iid)
        root = self.wait_state(iid, "running")
        item = findall(root, "reservationSet/item/instancesSet/item")[0]
        ip = find(item, "ipAddress")
        private = find(item, "privateIpAddress")
        self.assertTrue(ip and private and ip != private)
        self.assertEqual(find(item, "networkInterfaceSet/item/association/publicIp"), ip)
        root = self.ok("StopInstances", {"InstanceId.1": iid, "Force": "false"})
        self.assertEqual(find(root, "instancesSet/item/currentState/name"), "stopping")
        self.fails("StartInstances", {"InstanceId.1": iid}, "IncorrectInstanceState", 400,
                   "The instance '%s' is not in a state from which it can be started." % iid)
        root = self.wait_state(iid, "stopped")
        self.assertIsNone(find(root, "reservationSet/item/instancesSet/item/ipAddress"))
        self.fails("RebootInstances", {"InstanceId.1": iid}, "IncorrectInstanceState")
        root = self.ok("StopInstances", {"InstanceId.1": iid})
        self.assertEqual(find(root, "instancesSet/item/currentState/code"), "80")
        root = self.ok("StartInstances", {"InstanceId.1": iid})
        self.assertEqual((find(root, "instancesSet/item/previousState/code"),
                          find(root, "instancesSet/item/currentState/code")), ("80", "0"))
        root = self.wait_state(iid, "running")
        item = findall(root, "reservationSet/item/instancesSet/item")[0]
        # A new public address after a start (no Elastic IP), the same private one.
        self.assertNotIn(find(item, "ipAddress"), (None, ip))
        self.assertEqual(find(item, "privateIpAddress"), private)
        self.ok("StopInstances", {"InstanceId.1": iid, "Force": "true"})
        self.wait_state(iid, "stopped")
        root = self.ok("TerminateInstances", {"InstanceId.1": iid})
        self.assertEqual(find(root, "instancesSet/item/currentState/name"), "shutting-down")
        self.wait_state(iid, "terminated")
        self.fails("StartInstances", {"InstanceId.1": iid}, "IncorrectInstanceState")
        root = self.ok("TerminateInstances", {"InstanceId.1": iid})
        self.assertEqual(find(root, "instancesSet/item/previousState/name"), "terminated")
        # terminated instances vanish after --terminated-ttl (3 s here)
        time.sleep(3.2)
        self.fails("DescribeInstances", {"InstanceId.1": iid}, "InvalidInstanceID.NotFound", 400,
                   "The instance ID '%s' does not exist" % iid)

    def test_security_group_in_use(self):
        gid = find(self.ok("CreateSecurityGroup", {"GroupName": "inuse",
                                                   "GroupDescription": "in use"}), "groupId")
        _, iid = self.run_instance({"SecurityGroupId.1": gid})
        self.fails("DeleteSecurityGroup", {"GroupId": gid}, "DependencyViolation", 400,
                   "resource %s has a dependent object" % gid)
        self.ok("TerminateInstances", {"InstanceId.1": iid})
        self.fails("DeleteSecurityGroup", {"GroupId": gid}, "DependencyViolation")
        self.wait_state(iid, "terminated")
        self.ok("DeleteSecurityGroup", {"GroupId": gid})
        self.fails("DeleteSecurityGroup", {"GroupId": gid}, "InvalidGroup.NotFound", 400,
                   "The security group '%s' does not exist" % gid)

    def test_group_referenced_by_another_group(self):
        a = find(self.ok("CreateSecurityGroup", {"GroupName": "ref-a", "GroupDescription": "a"}),
                 "groupId")
        b = find(self.ok("CreateSecurityGroup", {"GroupName": "ref-b", "GroupDescription": "b"}),
                 "groupId")
        self.ok("AuthorizeSecurityGroupIngress", {
            "GroupId": b, "IpPermissions.1.IpProtocol": "udp", "IpPermissions.1.FromPort": "4789",
            "IpPermissions.1.ToPort": "4789", "IpPermissions.1.Groups.1.GroupId": a})
        self.fails("DeleteSecurityGroup", {"GroupId": a}, "DependencyViolation")
        self.ok("DeleteSecurityGroup", {"GroupId": b})
        self.ok("DeleteSecurityGroup", {"GroupId": a})

    def test_client_token_idempotency(self):
        _, first = self.run_instance({"ClientToken": "tok-1"})
        _, again = self.run_instance({"ClientToken": "tok-1"})
        self.assertEqual(first, again)
        self.fails("RunInstances", {"ImageId": self.debian_image(), "InstanceType": "t3.small",
                                    "MinCount": "1", "MaxCount": "1", "ClientToken": "tok-1"},
                   "IdempotentParameterMismatch")
        self.ok("TerminateInstances", {"InstanceId.1": first})
        self.wait_state(first, "terminated")

    def test_filters(self):
        _, a = self.run_instance({"TagSpecification.1.ResourceType": "instance",
                                  "TagSpecification.1.Tag.1.Key": "Name",
                                  "TagSpecification.1.Tag.1.Value": "filter-a",
                                  "TagSpecification.1.Tag.2.Key": "dmachine-store",
                                  "TagSpecification.1.Tag.2.Value": "s1"})
        _, b = self.run_instance()
        self.ok("CreateTags", {"ResourceId.1": b, "Tag.1.Key": "Name", "Tag.1.Value": "filter-b"})

        def ids(params):
            root = self.ok("DescribeInstances", params)
            return sorted(find(i, "instanceId")
                          for i in findall(root, "reservationSet/item/instancesSet/item"))
        self.assertEqual(ids({"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "filter-a"}), [a])
        self.assertEqual(ids({"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "filter-*"}),
                         sorted([a, b]))
        self.assertEqual(ids({"Filter.1.Name": "tag-key", "Filter.1.Value.1": "dmachine-store"}),
                         [a])
        self.wait_state(a, "running")
        self.assertEqual(ids({"Filter.1.Name": "instance-state-name",
                              "Filter.1.Value.1": "running", "Filter.2.Name": "tag:Name",
                              "Filter.2.Value.1": "filter-a"}), [a])
        self.fails("DescribeInstances", {"Filter.1.Name": "no-such-filter",
                                         "Filter.1.Value.1": "x"}, "InvalidParameterValue", 400,
                   "The filter 'no-such-filter' is invalid")
        self.ok("DeleteTags", {"ResourceId.1": b, "Tag.1.Key": "Name"})
        self.assertEqual(ids({"Filter.1.Name": "tag:Name", "Filter.1.Value.1": "filter-*"}), [a])
        self.fails("DescribeInstances", {"InstanceId.1": a, "InstanceId.2": "i-0000000000000000f"},
                   "InvalidInstanceID.NotFound", 400,
                   "The instance ID 'i-0000000000000000f' does not exist")
        self.ok("TerminateInstances", {"InstanceId.1": a, "InstanceId.2": b})

    def test_run_instances_checks(self):
        image = self.debian_image()
        base = {"ImageId": image, "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "1"}
        self.fails("RunInstances", dict(base, ImageId="ami-0123456789abcdef0"),
                   "InvalidAMIID.NotFound", 400,
                   "The image id '[ami-0123456789abcdef0]' does not exist")
        self.fails("RunInstances", dict(base, ImageId="debian"), "InvalidAMIID.Malformed")
        self.fails("RunInstances", dict(base, KeyName="nokey"), "InvalidKeyPair.NotFound", 400,
                   "The key pair 'nokey' does not exist")
        self.fails("RunInstances", dict(base, **{"SecurityGroupId.1": "sg-0123456789abcdef0"}),
                   "InvalidGroup.NotFound")
        self.fails("RunInstances", dict(base, SubnetId="subnet-0123456789abcdef0"),
                   "InvalidSubnetID.NotFound")
        self.fails("RunInstances", dict(base, InstanceType="t3.gigantic"), "InvalidParameterValue",
                   400, "Invalid value 't3.gigantic' for InstanceType.")
        self.fails("RunInstances", dict(base, InstanceType="t4g.micro"), "InvalidParameterValue")
        self.fails("RunInstances", dict(base, UserData="not base64!"),
                   "InvalidUserData.Malformed")
        self.fails("RunInstances", {"ImageId": image, "MaxCount": "1"}, "MissingParameter", 400,
                   "The request must contain the parameter MinCount")
        self.fails("RunInstances", dict(base, **{"BlockDeviceMapping.1.DeviceName": "/dev/xvda",
                                                 "BlockDeviceMapping.1.Ebs.VolumeType": "gp9"}),
                   "InvalidParameterValue")
        self.fails("RunInstances", dict(base, **{"NetworkInterface.1.DeviceIndex": "0",
                                                 "NetworkInterface.1.SubnetId": "subnet-00000000"},
                                        SubnetId="subnet-00000000"), "InvalidParameterCombination")
        state = self.emu.control("GET", "/_emulator/state")[1]
        self.assertEqual([i for i in state["instances"] if i["state"] != "terminated"], [])

    def test_run_instances_options(self):
        subnet = find(self.ok("DescribeSubnets"), "subnetSet/item/subnetId")
        root, iid = self.run_instance({
            "NetworkInterface.1.DeviceIndex": "0", "NetworkInterface.1.SubnetId": subnet,
            "NetworkInterface.1.AssociatePublicIpAddress": "false",
            "BlockDeviceMapping.1.DeviceName": "/dev/xvda",
            "BlockDeviceMapping.1.Ebs.VolumeSize": "16",
            "BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
            "BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
            "IamInstanceProfile.Name": "docker-host", "Monitoring.Enabled": "true",
            "EbsOptimized": "true", "InstanceMarketOptions.MarketType": "spot",
            "InstanceMarketOptions.SpotOptions.MaxPrice": "0.05",
            "UserData": b64("#!/bin/sh\necho hi\n")})
        item = findall(root, "instancesSet/item")[0]
        self.assertEqual(find(item, "instanceLifecycle"), "spot")
        self.assertTrue(find(item, "spotInstanceRequestId").startswith("sir-"))
        self.assertEqual(find(item, "monitoring/state"), "enabled")
        self.assertEqual(find(item, "ebsOptimized"), "true")
        self.assertTrue(find(item, "iamInstanceProfile/arn").endswith(":instance-profile/docker-host"))
        root = self.wait_state(iid, "running")
        item = findall(root, "reservationSet/item/instancesSet/item")[0]
        self.assertIsNone(find(item, "ipAddress"))        # private address only
        self.assertTrue(find(item, "privateIpAddress"))
        self.fails("StopInstances", {"InstanceId.1": iid}, "UnsupportedOperation")
        self.ok("TerminateInstances", {"InstanceId.1": iid})

    def test_instance_limit(self):
        emu = Emulator(("--no-hosts", "--fake-delay", "0", "--instance-limit", "2"))
        try:
            image = self.debian_image()
            params = {"ImageId": image, "InstanceType": "t3.micro", "MinCount": "2",
                      "MaxCount": "2"}
            self.assertEqual(emu.call("RunInstances", params)[0], 200)
            status, root, _ = emu.call("RunInstances", dict(params, MinCount="1", MaxCount="1"))
            self.assertEqual((status, error_of(root)[0]), (400, "InstanceLimitExceeded"))
        finally:
            emu.stop()


class TestKeysImagesAndNetwork(ApiTestCase):
    @unittest.skipIf(shutil.which("ssh-keygen") is None, "ssh-keygen is not installed")
    def test_import_key_pair_fingerprints(self):
        tmp = tempfile.mkdtemp(prefix="ec2emu-keys-")
        try:
            for key_type, hash_name, bits in (("ed25519", "sha256", None), ("rsa", "md5", 2048)):
                path, line = ssh_keygen(tmp, key_type, bits)
                root = self.ok("ImportKeyPair", {"KeyName": "fp-" + key_type,
                                                 "PublicKeyMaterial": b64(line)})
                out = subprocess.run(["ssh-keygen", "-l", "-E", hash_name, "-f", path + ".pub"],
                                     capture_output=True, text=True, check=True).stdout.split()[1]
                want = out.split(":", 1)[1]
                if hash_name == "sha256":
                    want += "=" * (-len(want) % 4)
                self.assertEqual(find(root, "keyFingerprint"), want, key_type)
                root = self.ok("DescribeKeyPairs", {"KeyName.1": "fp-" + key_type})
                self.assertEqual(find(root, "keySet/item/keyType"), key_type)
                self.ok("DeleteKeyPair", {"KeyName": "fp-" + key_type})
            _, line = ssh_keygen(tmp, "ecdsa", 256)
            self.fails("ImportKeyPair", {"KeyName": "fp-ecdsa", "PublicKeyMaterial": b64(line)},
                       "InvalidKey.Format", 400, "Key is not in valid OpenSSH public key format")
            # The key line itself instead of its base64: refused as EC2 refuses it.
            self.fails("ImportKeyPair", {"KeyName": "fp-raw", "PublicKeyMaterial": line},
                       "InvalidKey.Format")
        finally:
            shutil.rmtree(tmp)

    def test_key_pairs(self):
        line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl x"
        root = self.ok("ImportKeyPair", {"KeyName": "kp", "PublicKeyMaterial": b64(line),
                                         "TagSpecification.1.ResourceType": "key-pair",
                                         "TagSpecification.1.Tag.1.Key": "owner",
                                         "TagSpecification.1.Tag.1.Value": "t"})
        key_id = find(root, "keyPairId")
        root = self.ok("DescribeKeyPairs", {"Filter.1.Name": "tag:owner", "Filter.1.Value.1": "t"})
        self.assertEqual(find(root, "keySet/item/keyPairId"), key_id)
        self.fails("DescribeKeyPairs", {"KeyName.1": "nope"}, "InvalidKeyPair.NotFound", 400,
                   "The key pair 'nope' does not exist")
        self.ok("DeleteKeyPair", {"KeyPairId": key_id})
        self.ok("DeleteKeyPair", {"KeyName": "kp"})    # idempotent, as EC2
        self.assertEqual(findall(self.ok("DescribeKeyPairs"), "keySet/item"), [])

    def test_describe_images_debian_listing(self):
        root = self.ok("DescribeImages", {"Owner.1": DEBIAN_OWNER, "Filter.1.Name": "name",
                                          "Filter.1.Value.1": "debian-12-amd64-*",
                                          "Filter.2.Name": "architecture",
                                          "Filter.2.Value.1": "x86_64"})
        names = sorted(find(i, "name") for i in findall(root, "imagesSet/item"))
        self.assertEqual(names, ["debian-12-amd64-20250610-2137", "debian-12-amd64-20251112-2294"])
        root = self.ok("DescribeImages", {"Owner.1": DEBIAN_OWNER, "IncludeDeprecated": "true",
                                          "Filter.1.Name": "name",
                                          "Filter.1.Value.1": "debian-12-amd64-*"})
        self.assertEqual(len(findall(root, "imagesSet/item")), 3)
        self.fails("DescribeImages", {"ImageId.1": "ami-0123456789abcdef0"},
                   "InvalidAMIID.NotFound")

    def test_default_vpc_subnet_and_zones(self):
        root = self.ok("DescribeVpcs", {"Filter.1.Name": "is-default", "Filter.1.Value.1": "true"})
        vpc = find(root, "vpcSet/item/vpcId")
        root = self.ok("DescribeSubnets", {"Filter.1.Name": "vpc-id", "Filter.1.Value.1": vpc,
                                           "Filter.2.Name": "availability-zone",
                                           "Filter.2.Value.1": "us-east-1a"})
        self.assertEqual(find(root, "subnetSet/item/defaultForAz"), "true")
        root = self.ok("DescribeSubnets", {"Filter.1.Name": "availability-zone",
                                           "Filter.1.Value.1": "us-east-1b"})
        self.assertEqual(findall(root, "subnetSet/item"), [])
        self.fails("DescribeVpcs", {"VpcId.1": "vpc-1a2b3c4d"}, "InvalidVpcID.NotFound", 400,
                   "The vpc ID 'vpc-1a2b3c4d' does not exist")
        root = self.ok("DescribeSecurityGroups", {"Filter.1.Name": "group-name",
                                                  "Filter.1.Value.1": "default"})
        self.assertEqual(find(root, "securityGroupInfo/item/groupName"), "default")
        self.ok("DescribeAvailabilityZones")

    def test_ingress_rules(self):
        gid = find(self.ok("CreateSecurityGroup", {"GroupName": "rules",
                                                   "GroupDescription": "r"}), "groupId")
        self.ok("AuthorizeSecurityGroupIngress", {
            "GroupId": gid, "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "7946",
            "IpPermissions.1.ToPort": "7946", "IpPermissions.1.Groups.1.GroupId": gid,
            "IpPermissions.2.IpProtocol": "udp", "IpPermissions.2.FromPort": "7946",
            "IpPermissions.2.ToPort": "7946", "IpPermissions.2.Groups.1.GroupId": gid})
        self.fails("AuthorizeSecurityGroupIngress", {
            "GroupId": gid, "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22",
            "IpPermissions.1.ToPort": "20", "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"},
            "InvalidParameterValue")
        self.fails("AuthorizeSecurityGroupIngress", {
            "GroupId": gid, "IpPermissions.1.IpProtocol": "tcp", "IpPermissions.1.FromPort": "22",
            "IpPermissions.1.ToPort": "22", "IpPermissions.1.IpRanges.1.CidrIp": "300.1.2.3/8"},
            "InvalidParameterValue", 400, "CIDR block 300.1.2.3/8 is malformed")
        self.fails("AuthorizeSecurityGroupIngress", {
            "GroupId": "sg-0123456789abcdef0", "IpPermissions.1.IpProtocol": "-1",
            "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"}, "InvalidGroup.NotFound")
        state = self.emu.control("GET", "/_emulator/state")[1]
        group = [g for g in state["security_groups"] if g["id"] == gid][0]
        self.assertEqual(sorted((r["protocol"], r["from"], r["kind"], r["peer"])
                                for r in group["ingress"]),
                         [("tcp", 7946, "group", gid), ("udp", 7946, "group", gid)])
        self.ok("DeleteSecurityGroup", {"GroupId": gid})


class TestHooks(ApiTestCase):
    def test_throttling_injection_and_stats(self):
        self.emu.control("POST", "/_emulator/stats/reset", {})
        status, _ = self.emu.control("POST", "/_emulator/inject", {
            "action": "DescribeInstances", "code": "RequestLimitExceeded", "count": 2})
        self.assertEqual(status, 200)
        for _ in range(2):
            self.fails("DescribeInstances", (), "RequestLimitExceeded", 503,
                       "Request limit exceeded.")
        self.ok("DescribeInstances")
        self.ok("DescribeVpcs")
        stats = self.emu.control("GET", "/_emulator/stats")[1]
        self.assertEqual(stats["calls"]["DescribeInstances"], 3)
        self.assertEqual(stats["calls"]["DescribeVpcs"], 1)
        self.assertEqual(stats["errors"]["RequestLimitExceeded"], 2)
        self.assertEqual(stats["injections"], [])

    def test_capacity_and_quota_injection(self):
        self.emu.control("POST", "/_emulator/inject", {
            "action": "RunInstances", "code": "InsufficientInstanceCapacity", "count": 1})
        self.emu.control("POST", "/_emulator/inject", {
            "action": "RunInstances", "code": "InstanceLimitExceeded", "count": 1})
        message = self.fails("RunInstances", {"ImageId": self.debian_image(),
                                              "InstanceType": "t3.micro", "MinCount": "1",
                                              "MaxCount": "1"}, "InsufficientInstanceCapacity", 500)
        self.assertIn("We currently do not have sufficient t3.micro capacity", message)
        self.fails("RunInstances", {"ImageId": self.debian_image(), "InstanceType": "t3.micro",
                                    "MinCount": "1", "MaxCount": "1"}, "InstanceLimitExceeded", 400)
        state = self.emu.control("GET", "/_emulator/state")[1]
        self.assertEqual([i for i in state["instances"] if i["state"] != "terminated"], [])

    def test_launch_fault(self):
        self.assertEqual(self.emu.control("POST", "/_emulator/fault",
                                          {"fault": "launch-fails", "count": 1})[0], 200)
        _, iid = self.run_instance()
        root = self.wait_state(iid, "terminated")
        self.assertEqual(find(root, "reservationSet/item/instancesSet/item/stateReason/code"),
                         "Server.InternalError")
        _, other = self.run_instance()
        self.wait_state(other, "running")
        self.ok("TerminateInstances", {"InstanceId.1": other})

    def test_inject_rejects_unknown_action(self):
        status, _ = self.emu.control("POST", "/_emulator/inject", {"action": "Nope",
                                                                   "code": "X", "count": 1})
        self.assertEqual(status, 400)


# ====================================================================== end to end

def e2e_skip_reason():
    if os.environ.get("EC2EMU_E2E", "1") == "0":
        return "EC2EMU_E2E=0"
    if os.geteuid() != 0:
        return "not root (the local driver needs root)"
    if not os.access(DMACHINE, os.X_OK):
        return "no dmachine binary at %s (build it or set DMACHINE)" % DMACHINE
    if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return "ssh or ssh-keygen is not installed"
    return None


E2E_SKIP = e2e_skip_reason()


@unittest.skipIf(E2E_SKIP is not None, "end to end: %s" % E2E_SKIP)
class TestEndToEnd(unittest.TestCase):
    """One real instance: a local machine with the key pair installed for admin."""

    SUBNET = os.environ.get("EC2EMU_TEST_SUBNET", "10.213.247.0/24")
    BRIDGE = os.environ.get("EC2EMU_TEST_BRIDGE", "dmec2test0")

    def ssh(self, key, ip, command, timeout=30):
        return subprocess.run(
            ["ssh", "-i", key, "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
             "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=5",
             "-o", "LogLevel=ERROR", "admin@" + ip, command],
            capture_output=True, text=True, timeout=timeout, check=False)

    def wait(self, client, iid, wanted, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            status, root, raw = client.call("DescribeInstances", {"InstanceId.1": iid})
            self.assertEqual(status, 200, raw)
            item = findall(root, "reservationSet/item/instancesSet/item")[0]
            if find(item, "instanceState/name") == wanted:
                return item
            time.sleep(0.5)
        self.fail("%s never reached %s in %d s" % (iid, wanted, timeout))

    def test_instance_is_a_real_host(self):
        tmp = tempfile.mkdtemp(prefix="ec2emu-e2e-")
        store = os.path.join(tmp, "store")
        emu = Emulator(("--dmachine", DMACHINE, "--local-subnet", self.SUBNET,
                        "--local-bridge", self.BRIDGE, "--store", store))
        stopped = False
        try:
            client = emu.client()
            key, line = ssh_keygen(tmp, "ed25519")
            self.assertEqual(client.call("ImportKeyPair", {"KeyName": "e2e",
                                                           "PublicKeyMaterial": b64(line)})[0], 200)
            status, root, _ = client.call("CreateSecurityGroup", {"GroupName": "e2e",
                                                                  "GroupDescription": "e2e"})
            gid = find(root, "groupId")
            client.call("AuthorizeSecurityGroupIngress", {
                "GroupId": gid, "IpPermissions.1.IpProtocol": "tcp",
                "IpPermissions.1.FromPort": "22", "IpPermissions.1.ToPort": "22",
                "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0"})
            image = latest_debian(client)
            started = time.time()
            status, root, raw = client.call("RunInstances", {
                "ImageId": image, "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "1",
                "KeyName": "e2e", "SecurityGroupId.1": gid,
                "UserData": b64("#!/bin/sh\necho from-user-data > /tmp/user-data-ran\n")})
            self.assertEqual(status, 200, raw)
            self.assertLess(time.time() - started, 5, "RunInstances must answer at once")
            iid = find(root, "instancesSet/item/instanceId")
            item = self.wait(client, iid, "running", 900)
            ip = find(item, "ipAddress")
            private = find(item, "privateIpAddress")
            self.assertTrue(ip and private and ip != private)
            deadline = time.time() + 60
            while True:
                result = self.ssh(key, ip, "sudo -n id -u; cat /tmp/user-data-ran")
                if result.returncode == 0 or time.time() > deadline:
                    break
                time.sleep(1)
            ready = time.time() - started
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(result.stdout.split()[0], "0")
            print("\n  RunInstances -> SSH as admin: %.1f s" % ready, file=sys.stderr)

            self.assertEqual(client.call("StopInstances", {"InstanceId.1": iid})[0], 200)
            item = self.wait(client, iid, "stopped", 300)
            self.assertIsNone(find(item, "ipAddress"))
            self.assertNotEqual(self.ssh(key, ip, "true", timeout=20).returncode, 0)
            self.assertEqual(client.call("StartInstances", {"InstanceId.1": iid})[0], 200)
            item = self.wait(client, iid, "running", 300)
            self.assertNotIn(find(item, "ipAddress"), (None, ip))   # a new public address
            self.assertEqual(find(item, "privateIpAddress"), private)
            ip = find(item, "ipAddress")
            for address in (ip, private):
                result = self.ssh(key, address, "id -un")
                self.assertEqual(result.stdout.strip(), "admin", result.stderr)

            status, root, _ = client.call("DeleteSecurityGroup", {"GroupId": gid})
            self.assertEqual(error_of(root)[0], "DependencyViolation")
            self.assertEqual(client.call("TerminateInstances", {"InstanceId.1": iid})[0], 200)
            self.wait(client, iid, "terminated", 300)
            self.assertEqual(client.call("DeleteSecurityGroup", {"GroupId": gid})[0], 200)
            self.assertEqual(client.call("DeleteKeyPair", {"KeyName": "e2e"})[0], 200)
            state = emu.control("GET", "/_emulator/state")[1]
            self.assertEqual(state["hosts"], [])
            self.assertEqual(state["key_pairs"], [])
            self.assertEqual([g["name"] for g in state["security_groups"]], ["default"])

            # An instance left running is removed by the emulator's shutdown.
            status, root, _ = client.call("RunInstances", {
                "ImageId": image, "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "1"})
            self.wait(client, find(root, "instancesSet/item/instanceId"), "running", 900)
            self.assertEqual(emu.stop(), 0)
            stopped = True
            self.assertFalse(os.path.exists(os.path.join(store, "machines")) and
                             os.listdir(os.path.join(store, "machines")))
            link = subprocess.run(["ip", "link", "show", self.BRIDGE], capture_output=True,
                                  check=False)
            self.assertNotEqual(link.returncode, 0, "bridge %s left behind" % self.BRIDGE)
        finally:
            if not stopped:
                emu.stop()
            shutil.rmtree(tmp, ignore_errors=True)


    def test_three_at_once_then_shutdown_while_pending(self):
        tmp = tempfile.mkdtemp(prefix="ec2emu-e2e-")
        store = os.path.join(tmp, "store")
        emu = Emulator(("--dmachine", DMACHINE, "--local-subnet", self.SUBNET,
                        "--local-bridge", self.BRIDGE, "--store", store))
        stopped = False
        try:
            client = emu.client()
            key, line = ssh_keygen(tmp, "rsa", 3072)
            client.call("ImportKeyPair", {"KeyName": "three", "PublicKeyMaterial": b64(line)})
            image = latest_debian(client)
            started = time.time()
            status, root, raw = client.call("RunInstances", {
                "ImageId": image, "InstanceType": "t3.micro", "MinCount": "3", "MaxCount": "3",
                "KeyName": "three"})
            self.assertEqual(status, 200, raw)
            ids = [find(i, "instanceId") for i in findall(root, "instancesSet/item")]
            self.assertEqual(len(ids), 3)
            ips = {find(self.wait(client, i, "running", 900), "ipAddress") for i in ids}
            print("\n  3 instances running: %.1f s" % (time.time() - started), file=sys.stderr)
            self.assertEqual(len(ips), 3)
            for ip in ips:
                self.assertEqual(self.ssh(key, ip, "id -un").stdout.strip(), "admin")
            # Fault hook: the next instance runs but its sshd does not listen.
            self.assertEqual(emu.control("POST", "/_emulator/fault", {"fault": "no-ssh"})[0], 200)
            status, root, _ = client.call("RunInstances", {
                "ImageId": image, "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "1",
                "KeyName": "three"})
            mute = find(self.wait(client, find(root, "instancesSet/item/instanceId"), "running",
                                  900), "ipAddress")
            time.sleep(2)
            self.assertNotEqual(self.ssh(key, mute, "true", timeout=20).returncode, 0)
            status, root, _ = client.call("RunInstances", {
                "ImageId": image, "InstanceType": "t3.micro", "MinCount": "1", "MaxCount": "1"})
            self.assertEqual(find(root, "instancesSet/item/instanceState/name"), "pending")
            began = time.time()
            self.assertEqual(emu.stop(), 0)
            stopped = True
            print("  shutdown with 5 instances: %.1f s" % (time.time() - began), file=sys.stderr)
            self.assertFalse(os.path.exists(store) and os.path.isdir(os.path.join(store, "machines"))
                             and os.listdir(os.path.join(store, "machines")))
            link = subprocess.run(["ip", "link", "show", self.BRIDGE], capture_output=True,
                                  check=False)
            self.assertNotEqual(link.returncode, 0, "bridge %s left behind" % self.BRIDGE)
        finally:
            if not stopped:
                emu.stop()
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    verbosity = 2 if "-v" in sys.argv else 1
    names = [a for a in sys.argv[1:] if not a.startswith("-")]
    if VECTORS is None:
        print("SKIP: the shared vectors are not found (set VECTORS_DIR)")
        return 77
    module = sys.modules[__name__]
    loader = unittest.defaultTestLoader
    suite = (loader.loadTestsFromNames(names, module) if names
             else loader.loadTestsFromModule(module))
    result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    if not result.wasSuccessful():
        return 1
    if E2E_SKIP is not None:
        print("SKIP: end-to-end instance test: %s" % E2E_SKIP)
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
