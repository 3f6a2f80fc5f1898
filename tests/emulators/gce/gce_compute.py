"""Compute Engine v1 state: instances, firewalls, operations, images.

Request checks and answers follow the discovery document and the vectors in
tests/vectors/gce/compute. Host work (create/stop/start/reset/delete of the
local machine behind an instance) runs on a worker thread per operation, so
every mutating call returns its PENDING operation at once.
"""

import datetime
import ipaddress
import re
import secrets
import threading
import time
import uuid

from gce_schema import SchemaError

NAME_RE = "[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?"
_NAME = re.compile(NAME_RE)
_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")
_META_KEY = re.compile(r"[a-zA-Z0-9-_]{1,128}")
_PORT = re.compile(r"([0-9]{1,5})(?:-([0-9]{1,5}))?")

DEFAULT_ZONES = {
    "us-central1-a": "us-central1", "us-central1-b": "us-central1",
    "us-central1-c": "us-central1", "us-central1-f": "us-central1",
    "us-east1-b": "us-east1", "us-east1-c": "us-east1", "us-east1-d": "us-east1",
    "europe-west1-b": "europe-west1", "europe-west1-c": "europe-west1",
    "europe-west1-d": "europe-west1", "asia-east1-a": "asia-east1",
}
MACHINE_TYPES = ("e2-micro", "e2-small", "e2-medium", "e2-standard-2", "e2-standard-4",
                 "f1-micro", "g1-small", "n1-standard-1", "n1-standard-2", "n1-standard-4",
                 "n2-standard-2", "n2-standard-4")
DISK_TYPES = ("pd-standard", "pd-balanced", "pd-ssd")
IMAGE_PROJECT = "debian-cloud"
IMAGES = {  # family -> the image it resolves to
    "debian-12": {"name": "debian-12-bookworm-v20231115", "id": "6617383707498640340",
                  "description": "Debian, Debian GNU/Linux, 12 (bookworm), amd64 built on "
                                 "20231115", "diskSizeGb": "10",
                  "creationTimestamp": "2023-11-15T12:00:00.000-08:00"},
}
PROTOCOLS = ("tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all")
SCOPE_WRITE = ("https://www.googleapis.com/auth/compute",
               "https://www.googleapis.com/auth/cloud-platform")
SCOPE_READ = SCOPE_WRITE + ("https://www.googleapis.com/auth/compute.readonly",)
SCOPE_ALIASES = {"cloud-platform", "compute", "compute-ro", "default", "storage-ro",
                 "storage-rw", "storage-full", "logging-write", "monitoring",
                 "monitoring-write", "service-control", "service-management", "trace",
                 "userinfo-email", "pubsub", "datastore", "bigquery", "sql-admin",
                 "cloud-source-repos", "cloud-source-repos-ro"}
HOST_PREFIXES = ("https://www.googleapis.com/compute/v1/",
                 "https://compute.googleapis.com/compute/v1/")


class ApiError(Exception):
    """An HTTP-level Compute error: Google's {"error": {...}} body."""

    def __init__(self, code, reason, message, status=None, domain="global", extra=None):
        super().__init__(message)
        self.code = code
        item = {"message": message, "domain": domain, "reason": reason}
        item.update(extra or {})
        self.body = {"error": {"code": code, "message": message, "errors": [item]}}
        if status:
            self.body["error"]["status"] = status


def invalid(message):
    return ApiError(400, "invalid", message)


def invalid_field(field, value, why):
    return invalid("Invalid value for field '%s': '%s'. %s" % (field, value, why))


def not_found(resource):
    return ApiError(404, "notFound", "The resource '%s' was not found" % resource)


def now_rfc3339(t=None):
    tz = datetime.timezone(datetime.timedelta(hours=-8))
    d = datetime.datetime.fromtimestamp(t if t is not None else time.time(), tz)
    return d.isoformat(timespec="milliseconds")


def new_id():
    return str(secrets.randbelow(9 * 10 ** 18) + 10 ** 18)


def new_fingerprint():
    import base64
    return base64.b64encode(secrets.token_bytes(8)).decode()


def relative(url):
    """A resource URL without the host part, as projects/... or zones/... ."""
    for prefix in HOST_PREFIXES:
        if url.startswith(prefix):
            return url[len(prefix):]
    return url


class Compute:
    def __init__(self, hosts, projects, self_link_base, log, zones=None,
                 wait_seconds=120.0, network_ip_base="10.128.0."):
        self.hosts = hosts
        self.projects = set(projects)
        self.base = self_link_base.rstrip("/") + "/"
        self.log = log
        self.zones = dict(zones or DEFAULT_ZONES)
        self.wait_seconds = wait_seconds
        self.lock = threading.Condition()
        self.instances = {}    # (project, zone, name) -> dict (resource + "_" fields)
        self.firewalls = {}    # (project, name) -> resource
        self.operations = {}   # (project, zone or None, name) -> resource
        self.request_ids = {}  # (project, requestId) -> operation key
        self.pending_work = 0
        self.workers = []
        self.injected_op_errors = []   # [{"code", "message", "count"}] for inserts
        self.skip_guest_agent = 0
        self.closing = False

    # ------------------------------------------------------------ helpers
    def link(self, rel):
        return self.base + rel

    def check_project(self, project):
        if project not in self.projects:
            raise not_found("projects/%s" % project)

    def check_zone(self, project, zone):
        self.check_project(project)
        if zone not in self.zones:
            raise not_found("projects/%s/zones/%s" % (project, zone))

    def _new_operation(self, project, zone, op_type, target_rel, target_id, user):
        name = "operation-%d-%s-%s-%s" % (int(time.time() * 1000), secrets.token_hex(7)[:13],
                                          secrets.token_hex(4), secrets.token_hex(4))
        scope = "zones/%s" % zone if zone else "global"
        op = {"kind": "compute#operation", "id": new_id(), "name": name}
        if zone:
            op["zone"] = self.link("projects/%s/zones/%s" % (project, zone))
        op.update({"operationType": op_type, "targetLink": self.link(target_rel),
                   "targetId": target_id, "status": "PENDING", "user": user,
                   "progress": 0, "insertTime": now_rfc3339(), "startTime": now_rfc3339(),
                   "selfLink": self.link("projects/%s/%s/operations/%s" %
                                         (project, scope, name))})
        self.operations[(project, zone, name)] = op
        return op

    def _op_running(self, op):
        with self.lock:
            if op["status"] == "PENDING":
                op["status"] = "RUNNING"
            self.lock.notify_all()

    def _op_done(self, op, error=None):
        with self.lock:
            op["status"] = "DONE"
            op["progress"] = 100
            op["endTime"] = now_rfc3339()
            if error:
                code, http_code, http_message, message = error
                op["httpErrorStatusCode"] = http_code
                op["httpErrorMessage"] = http_message
                op["error"] = {"errors": [{"code": code, "message": message}]}
            self.lock.notify_all()

    def _spawn(self, fn, *args):
        """Host work on its own thread; counted so the state dump shows it."""
        def run():
            try:
                fn(*args)
            except Exception as e:  # never let a worker die silently
                self.log("worker error: %r" % e)
            finally:
                with self.lock:
                    self.pending_work -= 1
                    self.lock.notify_all()
        with self.lock:
            self.pending_work += 1
        t = threading.Thread(target=run, daemon=True)
        self.workers.append(t)
        t.start()

    def _request_id(self, project, query):
        rid = query.get("requestId")
        if rid is None:
            return None, None
        try:
            if uuid.UUID(rid).int == 0:
                raise ValueError
        except ValueError:
            raise invalid("Invalid value for field 'requestId': '%s'. The request id must "
                          "be a valid UUID with the exception that zero UUID is not "
                          "supported (00000000-0000-0000-0000-000000000000)." % rid)
        key = (project, rid)
        existing = self.request_ids.get(key)
        return key, (self.operations.get(existing) if existing else None)

    # ------------------------------------------------------------ operations
    def get_operation(self, project, zone, name):
        if zone:
            self.check_zone(project, zone)
        else:
            self.check_project(project)
        with self.lock:
            op = self.operations.get((project, zone, name))
            if op is None:
                scope = "zones/%s" % zone if zone else "global"
                raise not_found("projects/%s/%s/operations/%s" % (project, scope, name))
            return dict(op)

    def wait_operation(self, project, zone, name):
        """Blocks until DONE or wait_seconds have passed, then returns it."""
        self.get_operation(project, zone, name)
        deadline = time.monotonic() + self.wait_seconds
        with self.lock:
            op = self.operations[(project, zone, name)]
            while op["status"] != "DONE" and not self.closing:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.lock.wait(min(left, 1.0))
            return dict(op)

    # ------------------------------------------------------------ images
    def get_image_from_family(self, project, family):
        if project != IMAGE_PROJECT or family not in IMAGES:
            raise not_found("projects/%s/global/images/family/%s" % (project, family))
        return self.image_resource(family)

    def get_image(self, project, name):
        for family, image in IMAGES.items():
            if project == IMAGE_PROJECT and image["name"] == name:
                return self.image_resource(family)
        raise not_found("projects/%s/global/images/%s" % (project, name))

    def image_resource(self, family):
        image = IMAGES[family]
        rel = "projects/%s/global/images/%s" % (IMAGE_PROJECT, image["name"])
        return {"kind": "compute#image", "id": image["id"],
                "creationTimestamp": image["creationTimestamp"], "name": image["name"],
                "description": image["description"], "sourceType": "RAW",
                "status": "READY", "archiveSizeBytes": "1234567890",
                "diskSizeGb": image["diskSizeGb"],
                "licenses": [self.link("projects/debian-cloud/global/licenses/debian-12-"
                                       "bookworm")],
                "family": family, "selfLink": self.link(rel),
                "labelFingerprint": "42WmSpB8rSM=", "architecture": "X86_64"}

    def resolve_image(self, url):
        rel = relative(url)
        m = re.fullmatch(r"projects/([^/]+)/global/images/family/([^/]+)", rel)
        if m:
            return self.get_image_from_family(m.group(1), m.group(2))
        m = re.fullmatch(r"projects/([^/]+)/global/images/([^/]+)", rel)
        if m:
            return self.get_image(m.group(1), m.group(2))
        m = re.fullmatch(r"global/images/(family/)?([^/]+)", rel)
        if m:
            raise not_found("projects/<this project>/%s" % rel)
        raise invalid_field("resource.disks[0].initializeParams.sourceImage", url,
                            "Must be a URL to a valid Compute resource of the correct type.")

    # ------------------------------------------------------------ instances
    def _zone_url_part(self, project, zone, field, value, kind, known):
        """Checks a zonal URL such as zones/Z/machineTypes/T; returns T."""
        rel = relative(value)
        m = re.fullmatch(r"(?:projects/([^/]+)/)?zones/([^/]+)/%s/([^/]+)" % kind, rel)
        if not m:
            raise invalid_field(field, value, "Must be a URL to a valid Compute resource of "
                                "the correct type.")
        if (m.group(1) and m.group(1) != project) or m.group(2) != zone:
            raise invalid_field(field, value, "The %s must be in zone '%s' of project "
                                "'%s'." % (kind, zone, project))
        if m.group(3) not in known:
            singular = {"machineTypes": "Machine type", "diskTypes": "Disk type"}[kind]
            raise invalid_field(field, value, "%s with name '%s' does not exist in zone "
                                "'%s'." % (singular, m.group(3), zone))
        return m.group(3)

    def _network(self, project, value, field):
        rel = relative(value)
        m = re.fullmatch(r"(?:projects/([^/]+)/)?global/networks/([^/]+)", rel)
        if not m:
            raise invalid_field(field, value, "Must be a URL to a valid Compute resource of "
                                "the correct type.")
        net_project = m.group(1) or project
        if net_project != project or m.group(2) != "default":
            raise not_found("projects/%s/global/networks/%s" % (net_project, m.group(2)))
        return "projects/%s/global/networks/default" % project

    def validate_instance(self, project, zone, body):
        name = body.get("name")
        if name is None:
            raise invalid("Invalid value for field 'resource.name': ''. Must be a match of "
                          "regex '(?:%s)'" % NAME_RE)
        if not _NAME.fullmatch(name):
            raise invalid_field("resource.name", name, "Must be a match of regex '(?:%s)'"
                                % NAME_RE)
        if "machineType" not in body:
            raise invalid("Invalid value for field 'resource.machineType': ''. "
                          "Machine type must be specified.")
        mtype = self._zone_url_part(project, zone, "resource.machineType",
                                    body["machineType"], "machineTypes", MACHINE_TYPES)
        disks = body.get("disks") or []
        boots = [d for d in disks if d.get("boot")]
        if len(boots) != 1 or len(disks) != 1 or not disks[0].get("boot"):
            raise invalid("Invalid value for field 'resource.disks': ''. Exactly one boot "
                          "disk must be specified (this emulator supports one disk).")
        disk = disks[0]
        if disk.get("type", "PERSISTENT") != "PERSISTENT" or "source" in disk:
            raise invalid_field("resource.disks[0]", disk.get("source", disk.get("type")),
                                "Only a new PERSISTENT boot disk from initializeParams is "
                                "supported here.")
        params = disk.get("initializeParams")
        if not params or "sourceImage" not in params:
            raise invalid("Invalid value for field 'resource.disks[0].initializeParams"
                          ".sourceImage': ''. Source image must be specified.")
        image = self.resolve_image(params["sourceImage"])
        size = int(params.get("diskSizeGb", image["diskSizeGb"]))
        if size < int(image["diskSizeGb"]):
            raise invalid_field("resource.disks[0].initializeParams.diskSizeGb", size,
                                "Requested disk size cannot be smaller than the image size "
                                "(%s GB)" % image["diskSizeGb"])
        if size > 65536:
            raise invalid_field("resource.disks[0].initializeParams.diskSizeGb", size,
                                "Disk size cannot be larger than 65536 GB.")
        if "diskType" in params:
            self._zone_url_part(project, zone, "resource.disks[0].initializeParams.diskType",
                                params["diskType"], "diskTypes", DISK_TYPES)
        nics = body.get("networkInterfaces") or []
        if len(nics) != 1:
            raise invalid("Invalid value for field 'resource.networkInterfaces': ''. "
                          "Exactly one network interface is supported here.")
        nic = nics[0]
        network = self._network(project, nic.get("network", "global/networks/default"),
                                "resource.networkInterfaces[0].network")
        region = self.zones[zone]
        subnet = "projects/%s/regions/%s/subnetworks/default" % (project, region)
        if "subnetwork" in nic:
            rel = relative(nic["subnetwork"])
            m = re.fullmatch(r"(?:projects/([^/]+)/)?regions/([^/]+)/subnetworks/([^/]+)",
                             rel)
            if not m:
                raise invalid_field("resource.networkInterfaces[0].subnetwork",
                                    nic["subnetwork"], "Must be a URL to a valid Compute "
                                    "resource of the correct type.")
            if (m.group(1) or project) != project or m.group(2) != region or \
                    m.group(3) != "default":
                raise not_found("projects/%s/regions/%s/subnetworks/%s" %
                                (m.group(1) or project, m.group(2), m.group(3)))
        for field in ("networkIP",):
            if field in nic:
                raise invalid_field("resource.networkInterfaces[0].%s" % field, nic[field],
                                    "Static internal addresses are not supported here.")
        access = nic.get("accessConfigs") or []
        if len(access) > 1:
            raise invalid("Invalid value for field 'resource.networkInterfaces[0]."
                          "accessConfigs': ''. At most one access config currently supported.")
        for ac in access:
            if ac.get("type", "ONE_TO_ONE_NAT") != "ONE_TO_ONE_NAT":
                raise invalid_field("resource.networkInterfaces[0].accessConfigs[0].type",
                                    ac.get("type"), "Only ONE_TO_ONE_NAT is supported.")
            if "natIP" in ac:
                raise invalid_field("resource.networkInterfaces[0].accessConfigs[0].natIP",
                                    ac["natIP"], "The specified external IP address '%s' "
                                    "was not found in region '%s' (this emulator has no "
                                    "reserved addresses)." % (ac["natIP"], region))
        items = (body.get("metadata") or {}).get("items") or []
        seen, total = set(), 0
        for i, item in enumerate(items):
            key = item.get("key")
            if key is None or not _META_KEY.fullmatch(key):
                raise invalid_field("resource.metadata.items[%d].key" % i, key or "",
                                    "Must be a match of regex '[a-zA-Z0-9-_]{1,128}'")
            if key in seen:
                raise invalid_field("resource.metadata", "", "Duplicate keys: '%s'." % key)
            seen.add(key)
            total += len(key) + len(item.get("value") or "")
        if total > 512 * 1024:
            raise invalid("Invalid value for field 'resource.metadata': ''. Metadata has "
                          "exceeded the size limit of 512 KB.")
        for i, tag in enumerate((body.get("tags") or {}).get("items") or []):
            if not _NAME.fullmatch(tag):
                raise invalid_field("resource.tags.items[%d]" % i, tag,
                                    "Must be a match of regex '(?:%s)'" % NAME_RE)
        labels = body.get("labels") or {}
        if len(labels) > 64:
            raise invalid("Invalid value for field 'resource.labels': ''. At most 64 labels.")
        for k, v in labels.items():
            if not _LABEL_KEY.fullmatch(k) or not _LABEL_VALUE.fullmatch(v):
                raise invalid_field("resource.labels", "%s=%s" % (k, v), "Label keys must "
                                    "start with a lowercase letter; keys and values may "
                                    "contain only lowercase letters, digits, '_' and '-'.")
        accounts = body.get("serviceAccounts") or []
        if len(accounts) > 1:
            raise invalid("Invalid value for field 'resource.serviceAccounts': ''. At most "
                          "one service account per instance.")
        for i, sa in enumerate(accounts):
            for j, scope in enumerate(sa.get("scopes") or []):
                if not (scope.startswith("https://www.googleapis.com/auth/") or
                        scope in SCOPE_ALIASES):
                    raise invalid_field("resource.serviceAccounts[%d].scopes[%d]" % (i, j),
                                        scope, "Scope must be a URL or a known alias.")
        sched = dict(body.get("scheduling") or {})
        spot = sched.get("provisioningModel") == "SPOT"
        if sched.get("preemptible") or spot:
            if sched.get("onHostMaintenance", "TERMINATE") != "TERMINATE" or \
                    sched.get("automaticRestart", False):
                raise invalid("Invalid value for field 'resource.scheduling': ''. "
                              "Preemptible instances must have onHostMaintenance TERMINATE "
                              "and automaticRestart false.")
            sched.setdefault("onHostMaintenance", "TERMINATE")
            sched.setdefault("automaticRestart", False)
        sched.setdefault("onHostMaintenance", "MIGRATE")
        sched.setdefault("automaticRestart", True)
        sched.setdefault("preemptible", False)
        return {"name": name, "machine_type": mtype, "size": str(size), "image": image,
                "network": network, "subnetwork": subnet, "access": bool(access),
                "access_name": (access[0].get("name", "External NAT") if access else None),
                "access_tier": (access[0].get("networkTier", "PREMIUM") if access else None),
                "scheduling": sched, "auto_delete": disk.get("autoDelete", True),
                "disk_type": params.get("diskType", "zones/%s/diskTypes/pd-standard" % zone)}

    def insert_instance(self, project, zone, body, query, user):
        self.check_zone(project, zone)
        spec = self.validate_instance(project, zone, body)
        name = spec["name"]
        rel = "projects/%s/zones/%s/instances/%s" % (project, zone, name)
        with self.lock:
            rid_key, replay = self._request_id(project, query)
            if replay is not None:
                return dict(replay)
            existing = self.instances.get((project, zone, name))
            inject = self._take_op_error()
            if existing is not None:
                op = self._new_operation(project, zone, "insert", rel, existing["id"], user)
                self._op_done(op, ("RESOURCE_ALREADY_EXISTS", 409, "CONFLICT",
                                   "The resource '%s' already exists" % rel))
            elif inject is not None:
                op = self._new_operation(project, zone, "insert", rel, new_id(), user)
                region = self.zones[zone]
                self._op_done(op, (inject["code"], inject.get("http", 403),
                                   inject.get("http_message", "FORBIDDEN"),
                                   inject.get("message") or
                                   "Quota 'CPUS' exceeded.  Limit: 24.0 in region %s." % region))
            else:
                inst = self._new_instance(project, zone, body, spec)
                self.instances[(project, zone, name)] = inst
                op = self._new_operation(project, zone, "insert", rel, inst["id"], user)
                self._spawn(self._work_insert, inst, op)
            if rid_key:
                self.request_ids[rid_key] = (project, zone, op["name"])
            return dict(op)

    def _take_op_error(self):
        for item in self.injected_op_errors:
            if item["count"] > 0:
                item["count"] -= 1
                return item
        return None

    def _new_instance(self, project, zone, body, spec):
        rel = "projects/%s/zones/%s/instances/%s" % (project, zone, spec["name"])
        items = [{"key": i["key"], "value": i.get("value", "")}
                 for i in (body.get("metadata") or {}).get("items") or []]
        nic = {"kind": "compute#networkInterface", "network": self.link(spec["network"]),
               "subnetwork": self.link(spec["subnetwork"]), "name": "nic0",
               "fingerprint": new_fingerprint(), "stackType": "IPV4_ONLY"}
        if spec["access"]:
            nic["accessConfigs"] = [{"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT",
                                     "name": spec["access_name"],
                                     "networkTier": spec["access_tier"]}]
        accounts = []
        for sa in body.get("serviceAccounts") or []:
            email = sa.get("email", "default")
            if email == "default":
                email = "123456789012-compute@developer.gserviceaccount.com"
            accounts.append({"email": email, "scopes": list(sa.get("scopes") or [])})
        inst = {
            "kind": "compute#instance", "id": new_id(), "creationTimestamp": now_rfc3339(),
            "name": spec["name"]}
        if "description" in body:
            inst["description"] = body["description"]
        inst.update({
            "tags": {"items": list((body.get("tags") or {}).get("items") or []),
                     "fingerprint": new_fingerprint()},
            "machineType": self.link("projects/%s/zones/%s/machineTypes/%s" %
                                     (project, zone, spec["machine_type"])),
            "status": "PROVISIONING",
            "zone": self.link("projects/%s/zones/%s" % (project, zone)),
            "canIpForward": bool(body.get("canIpForward", False)),
            "networkInterfaces": [nic],
            "disks": [{"kind": "compute#attachedDisk", "type": "PERSISTENT",
                       "mode": "READ_WRITE",
                       "source": self.link("projects/%s/zones/%s/disks/%s" %
                                           (project, zone, spec["name"])),
                       "deviceName": "persistent-disk-0", "index": 0, "boot": True,
                       "autoDelete": spec["auto_delete"], "interface": "SCSI",
                       "diskSizeGb": spec["size"]}],
            "metadata": {"kind": "compute#metadata", "fingerprint": new_fingerprint(),
                         "items": items},
            "serviceAccounts": accounts,
            "selfLink": self.link(rel),
            "scheduling": spec["scheduling"],
            "cpuPlatform": "Unknown CPU Platform",
            "labels": dict(body.get("labels") or {}),
            "labelFingerprint": new_fingerprint(),
            "startRestricted": False,
            "deletionProtection": bool(body.get("deletionProtection", False)),
            "fingerprint": new_fingerprint(),
            # emulator-private fields, never shown
            "_local": "gce-%s-%s" % (spec["name"][:24].rstrip("-"), secrets.token_hex(3)),
            "_host": False, "_busy": threading.Lock(), "_deleted": False,
        })
        return inst

    def public(self, inst):
        return {k: v for k, v in inst.items() if not k.startswith("_")}

    def _set(self, inst, **fields):
        with self.lock:
            inst.update(fields)
            self.lock.notify_all()

    def _set_addresses(self, inst, ip):
        with self.lock:
            nic = inst["networkInterfaces"][0]
            nic.setdefault("networkIP", ip)
            for ac in nic.get("accessConfigs", []):
                if ip is None:
                    ac.pop("natIP", None)
                else:
                    ac["natIP"] = self.hosts.nat_ip(ip)

    def _guest_agent_entries(self, inst):
        from gce_hosts import parse_ssh_keys
        entries = []
        for item in inst["metadata"]["items"]:
            if item["key"] == "ssh-keys":
                entries += parse_ssh_keys(item["value"])
        return entries

    def _host_error(self, op, err):
        self.log("host error: %s" % err)
        self._op_done(op, ("INTERNAL_ERROR", 500, "INTERNAL_SERVER_ERROR",
                           "Internal error (emulator host): %s" % str(err)[:500]))

    def _work_insert(self, inst, op):
        with inst["_busy"]:
            self._op_running(op)
            self._set(inst, status="STAGING")
            try:
                ip = self.hosts.create(inst["_local"])
                with self.lock:
                    inst["_host"] = True
                self._set_addresses(inst, ip)
                with self.lock:
                    skip = self.skip_guest_agent > 0
                    if skip:
                        self.skip_guest_agent -= 1
                if not skip:
                    self.hosts.guest_agent(inst["_local"], self._guest_agent_entries(inst))
            except Exception as e:  # the instance stays, TERMINATED, as a failed boot
                self._set_addresses(inst, None)
                self._set(inst, status="TERMINATED", cpuPlatform="Unknown CPU Platform")
                return self._host_error(op, e)
            self._set(inst, status="RUNNING", cpuPlatform="Intel Broadwell",
                      lastStartTimestamp=now_rfc3339())
            self._op_done(op)

    def get_instance(self, project, zone, name):
        self.check_zone(project, zone)
        with self.lock:
            inst = self.instances.get((project, zone, name))
            if inst is None:
                raise not_found("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            return self.public(inst)

    def list_instances(self, project, zone, query):
        self.check_zone(project, zone)
        with self.lock:
            items = [self.public(i) for (p, z, _), i in sorted(self.instances.items())
                     if p == project and z == zone]
        items = [i for i in items if matches_filter(i, query.get("filter"))]
        rel = "projects/%s/zones/%s/instances" % (project, zone)
        return page(items, query, "compute#instanceList", self.link(rel), rel)

    def _instance_action(self, project, zone, name, action, query, user):
        self.check_zone(project, zone)
        rel = "projects/%s/zones/%s/instances/%s" % (project, zone, name)
        with self.lock:
            rid_key, replay = self._request_id(project, query)
            if replay is not None:
                return dict(replay)
            inst = self.instances.get((project, zone, name))
            if inst is None or inst["_deleted"]:
                raise not_found(rel)
            status = inst["status"]
            if action == "reset" and status != "RUNNING":
                raise ApiError(400, "resourceNotReady", "The resource '%s' is not ready" % rel)
            if action == "start" and status in ("STOPPING", "PROVISIONING"):
                raise ApiError(400, "resourceNotReady", "The resource '%s' is not ready" % rel)
            if action == "stop" and status in ("PROVISIONING", "STAGING"):
                raise ApiError(400, "resourceNotReady", "The resource '%s' is not ready" % rel)
            op = self._new_operation(project, zone, action, rel, inst["id"], user)
            if rid_key:
                self.request_ids[rid_key] = (project, zone, op["name"])
            if action == "delete":
                inst["_deleted"] = True
                self._spawn(self._work_delete, inst, op, (project, zone, name))
            elif (action == "start" and status in ("RUNNING", "STAGING")) or \
                    (action == "stop" and status == "TERMINATED"):
                self._op_done(op)          # GCE accepts these as no-ops
            else:
                self._spawn(getattr(self, "_work_" + action), inst, op)
            return dict(op)

    def start_instance(self, project, zone, name, query, user):
        return self._instance_action(project, zone, name, "start", query, user)

    def stop_instance(self, project, zone, name, query, user):
        return self._instance_action(project, zone, name, "stop", query, user)

    def reset_instance(self, project, zone, name, query, user):
        return self._instance_action(project, zone, name, "reset", query, user)

    def delete_instance(self, project, zone, name, query, user):
        return self._instance_action(project, zone, name, "delete", query, user)

    def _work_stop(self, inst, op):
        with inst["_busy"]:
            self._op_running(op)
            if inst["status"] == "TERMINATED":
                return self._op_done(op)
            self._set(inst, status="STOPPING")
            try:
                if inst["_host"]:
                    self.hosts.stop(inst["_local"])
            except Exception as e:
                self._set(inst, status="RUNNING")
                return self._host_error(op, e)
            self._set_addresses(inst, None)
            self._set(inst, status="TERMINATED", lastStopTimestamp=now_rfc3339())
            self._op_done(op)

    def _work_start(self, inst, op):
        with inst["_busy"]:
            self._op_running(op)
            if inst["status"] == "RUNNING":
                return self._op_done(op)
            self._set(inst, status="STAGING")
            try:
                if inst["_host"]:
                    ip = self.hosts.start(inst["_local"])
                else:   # a failed first boot: make the host now
                    ip = self.hosts.create(inst["_local"])
                    with self.lock:
                        inst["_host"] = True
                    self.hosts.guest_agent(inst["_local"], self._guest_agent_entries(inst))
            except Exception as e:
                self._set(inst, status="TERMINATED")
                return self._host_error(op, e)
            self._set_addresses(inst, ip)
            self._set(inst, status="RUNNING", lastStartTimestamp=now_rfc3339())
            self._op_done(op)

    def _work_reset(self, inst, op):
        with inst["_busy"]:
            self._op_running(op)
            try:
                if inst["_host"]:
                    ip = self.hosts.reset(inst["_local"])
                    self._set_addresses(inst, ip)
            except Exception as e:
                return self._host_error(op, e)
            self._op_done(op)

    def _work_delete(self, inst, op, key):
        with inst["_busy"]:
            self._op_running(op)
            if inst["status"] in ("RUNNING", "STAGING"):
                self._set(inst, status="STOPPING")
            try:
                if inst["_host"]:
                    self.hosts.remove(inst["_local"])
            except Exception as e:
                with self.lock:
                    inst["_deleted"] = False
                return self._host_error(op, e)
            with self.lock:
                inst["_host"] = False
                self.instances.pop(key, None)
            self._op_done(op)

    # ------------------------------------------------------------ firewalls
    def validate_firewall(self, project, body):
        name = body.get("name")
        if name is None or not _NAME.fullmatch(name):
            raise invalid_field("resource.name", name or "", "Must be a match of regex "
                                "'(?:%s)'" % NAME_RE)
        network = self._network(project, body.get("network", "global/networks/default"),
                                "resource.network")
        direction = body.get("direction", "INGRESS")
        priority = body.get("priority", 1000)
        if not 0 <= priority <= 65535:
            raise invalid_field("resource.priority", priority, "Must be between 0 and 65535.")
        allowed, denied = body.get("allowed"), body.get("denied")
        if bool(allowed) == bool(denied):
            raise invalid("Invalid value for field 'resource': ''. Exactly one of 'allowed' "
                          "or 'denied' must be specified.")
        field = "allowed" if allowed else "denied"
        for i, rule in enumerate(allowed or denied):
            proto = rule.get("IPProtocol")
            if proto is None:
                raise invalid("Invalid value for field 'resource.%s[%d].IPProtocol': ''. "
                              "IPProtocol must be specified." % (field, i))
            if proto not in PROTOCOLS and not (proto.isdigit() and int(proto) <= 255):
                raise invalid_field("resource.%s[%d].IPProtocol" % (field, i), proto,
                                    "Must be one of [tcp, udp, icmp, esp, ah, sctp, ipip, "
                                    "all] or an IP protocol number.")
            ports = rule.get("ports") or []
            if ports and proto not in ("tcp", "udp", "sctp"):
                raise invalid_field("resource.%s[%d].ports" % (field, i), ",".join(ports),
                                    "Ports may only be specified for tcp, udp or sctp.")
            for j, port in enumerate(ports):
                m = _PORT.fullmatch(port)
                if not m or not 0 <= int(m.group(1)) <= 65535 or (
                        m.group(2) and not int(m.group(1)) <= int(m.group(2)) <= 65535):
                    raise invalid_field("resource.%s[%d].ports[%d]" % (field, i, j), port,
                                        "Must be a port number or a range like 1000-2000.")
        for key in ("sourceRanges", "destinationRanges"):
            for j, cidr in enumerate(body.get(key) or []):
                try:
                    ipaddress.ip_network(cidr, strict=False)
                except ValueError:
                    raise invalid_field("resource.%s[%d]" % (key, j), cidr,
                                        "Must be a CIDR address range.")
        for key in ("sourceTags", "targetTags"):
            for j, tag in enumerate(body.get(key) or []):
                if not _NAME.fullmatch(tag):
                    raise invalid_field("resource.%s[%d]" % (key, j), tag,
                                        "Must be a match of regex '(?:%s)'" % NAME_RE)
        if direction == "EGRESS" and (body.get("sourceRanges") or body.get("sourceTags")):
            raise invalid("Invalid value for field 'resource': ''. An EGRESS rule cannot have "
                          "sourceRanges or sourceTags.")
        if direction == "INGRESS" and body.get("destinationRanges"):
            raise invalid("Invalid value for field 'resource': ''. An INGRESS rule cannot "
                          "have destinationRanges.")
        return name, network, direction, priority

    def insert_firewall(self, project, body, query, user):
        self.check_project(project)
        name, network, direction, priority = self.validate_firewall(project, body)
        rel = "projects/%s/global/firewalls/%s" % (project, name)
        with self.lock:
            rid_key, replay = self._request_id(project, query)
            if replay is not None:
                return dict(replay)
            if (project, name) in self.firewalls:
                raise ApiError(409, "alreadyExists", "The resource '%s' already exists" % rel)
            fw = {"kind": "compute#firewall", "id": new_id(),
                  "creationTimestamp": now_rfc3339(), "name": name}
            if "description" in body:
                fw["description"] = body["description"]
            fw.update({"network": self.link(network), "priority": priority})
            if direction == "INGRESS" and not body.get("sourceTags") and \
                    not body.get("sourceServiceAccounts"):
                fw["sourceRanges"] = list(body.get("sourceRanges") or ["0.0.0.0/0"])
            elif body.get("sourceRanges"):
                fw["sourceRanges"] = list(body["sourceRanges"])
            for key in ("destinationRanges", "sourceTags", "targetTags",
                        "sourceServiceAccounts", "targetServiceAccounts", "allowed",
                        "denied"):
                if body.get(key):
                    fw[key] = body[key]
            if direction == "EGRESS" and "destinationRanges" not in fw:
                fw["destinationRanges"] = ["0.0.0.0/0"]
            fw.update({"direction": direction,
                       "logConfig": {"enable": bool((body.get("logConfig") or {})
                                                    .get("enable", False))},
                       "disabled": bool(body.get("disabled", False)),
                       "selfLink": self.link(rel)})
            op = self._new_operation(project, None, "insert", rel, fw["id"], user)
            if rid_key:
                self.request_ids[rid_key] = (project, None, op["name"])
            self._spawn(self._work_global, op, lambda: self.firewalls.__setitem__(
                (project, name), fw))
            return dict(op)

    def _work_global(self, op, effect):
        time.sleep(0.05)
        self._op_running(op)
        time.sleep(0.05)
        with self.lock:
            effect()
        self._op_done(op)

    def get_firewall(self, project, name):
        self.check_project(project)
        with self.lock:
            fw = self.firewalls.get((project, name))
            if fw is None:
                raise not_found("projects/%s/global/firewalls/%s" % (project, name))
            return dict(fw)

    def list_firewalls(self, project, query):
        self.check_project(project)
        with self.lock:
            items = [dict(f) for (p, _), f in sorted(self.firewalls.items()) if p == project]
        items = [i for i in items if matches_filter(i, query.get("filter"))]
        rel = "projects/%s/global/firewalls" % project
        return page(items, query, "compute#firewallList", self.link(rel), rel)

    def delete_firewall(self, project, name, query, user):
        self.check_project(project)
        rel = "projects/%s/global/firewalls/%s" % (project, name)
        with self.lock:
            rid_key, replay = self._request_id(project, query)
            if replay is not None:
                return dict(replay)
            fw = self.firewalls.get((project, name))
            if fw is None or fw.get("_deleting"):
                raise not_found(rel)
            fw["_deleting"] = True
            op = self._new_operation(project, None, "delete", rel, fw["id"], user)
            if rid_key:
                self.request_ids[rid_key] = (project, None, op["name"])
            self._spawn(self._work_global, op, lambda: self.firewalls.pop((project, name),
                                                                        None))
            return dict(op)

    # ------------------------------------------------------------ dump / shutdown
    def dump(self):
        with self.lock:
            return {
                "instances": [{"project": p, "zone": z, "name": n, "status": i["status"],
                               "local_machine": i["_local"] if i["_host"] else None,
                               "networkIP": i["networkInterfaces"][0].get("networkIP"),
                               "natIP": (i["networkInterfaces"][0].get("accessConfigs")
                                         or [{}])[0].get("natIP"),
                               "labels": i["labels"], "tags": i["tags"]["items"]}
                              for (p, z, n), i in sorted(self.instances.items())],
                "firewalls": [{k: v for k, v in f.items() if not k.startswith("_")}
                              for _, f in sorted(self.firewalls.items())],
                "operations": {"total": len(self.operations),
                               "not_done": sum(1 for o in self.operations.values()
                                               if o["status"] != "DONE")},
                "host_work_pending": self.pending_work,
            }

    def shutdown(self, timeout=600):
        """Waits for host work, then removes every local machine it made."""
        deadline = time.monotonic() + timeout
        with self.lock:
            self.closing = True
            self.lock.notify_all()
            while self.pending_work > 0 and time.monotonic() < deadline:
                self.lock.wait(1.0)
            insts = list(self.instances.values())
        failed = []
        for inst in insts:
            if inst["_host"]:
                try:
                    self.hosts.remove(inst["_local"])
                    inst["_host"] = False
                except Exception as e:
                    failed.append("%s: %s" % (inst["_local"], e))
        return failed


def matches_filter(item, expr):
    """The list filter subset: `FIELD = VALUE`, `FIELD != VALUE`, `FIELD eq REGEX`,
    `FIELD ne REGEX`, terms joined by spaces or AND, each optionally in
    parentheses; FIELD is name, status, or labels.KEY."""
    if not expr:
        return True
    terms = re.findall(r"\(?\s*([A-Za-z][A-Za-z0-9_.-]*)\s*(!=|=|\beq\b|\bne\b)\s*"
                       r"(\"[^\"]*\"|'[^']*'|[^\s()]+)\s*\)?(?:\s+AND\s+|\s+|$)", expr)
    rebuilt = re.sub(r"\s+", "", "".join(
        "%s%s%s" % t for t in terms))
    if not terms or rebuilt != re.sub(r"\s+|AND|[()]", "", expr):
        raise invalid("Invalid value for field 'filter': '%s'. Invalid list filter "
                      "expression." % expr)
    for field, op, value in terms:
        value = value.strip("\"'")
        if field.startswith("labels."):
            actual = item.get("labels", {}).get(field[len("labels."):])
        elif field in ("name", "status", "direction", "network"):
            actual = item.get(field)
        else:
            raise invalid("Invalid value for field 'filter': '%s'. Field '%s' is not "
                          "supported by this emulator." % (expr, field))
        actual = "" if actual is None else str(actual)
        if op == "=":
            ok = actual == value
        elif op == "!=":
            ok = actual != value
        else:
            ok = re.fullmatch(value, actual) is not None
            ok = ok if op == "eq" else not ok
        if not ok:
            return False
    return True


def page(items, query, kind, self_link, rel):
    try:
        max_results = int(query.get("maxResults", "500"))
        start = int(query.get("pageToken") or "0")
    except ValueError:
        raise invalid("Invalid value for field 'pageToken' or 'maxResults'.")
    if not 0 <= max_results <= 500 or start < 0:
        raise invalid("Invalid value for field 'maxResults': '%d'. Must be less than or "
                      "equal to 500" % max_results)
    if max_results == 0:
        max_results = 500
    chunk = items[start:start + max_results]
    out = {"kind": kind, "id": rel, "items": chunk, "selfLink": self_link}
    if start + max_results < len(items):
        out["nextPageToken"] = str(start + max_results)
    if not chunk:
        del out["items"]
    return out
