"""Compute Engine v1 state: instances, operations, images (firewalls: gce_firewalls).

Request checks and answers follow the discovery document and the vectors in
tests/vectors/gce/compute. Host work (create/stop/start/reset/delete of the
local machine behind an instance) runs on a worker thread per operation, so
every mutating call returns its PENDING operation at once.
"""


import re
import secrets
import threading
import time
import uuid

from gce_common import NAME, NAME_RE, SCOPE_ALIASES, ApiError, check_metadata, check_tags, \
    invalid, invalid_field, matches_filter, new_fingerprint, new_id, not_found, \
    now_rfc3339, page, public, relative
from gce_firewalls import FirewallsMixin

_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")

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


class Compute(FirewallsMixin):
    def __init__(self, hosts, projects, self_link_base, log, zones=None,
                 wait_seconds=120.0):
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
        self.injected_op_errors = []   # [{"code", "message", "count"}] for inserts
        self.boot_faults = []          # NO_GUEST_AGENT / NO_SSH, one per insert
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
        threading.Thread(target=run, daemon=True).start()

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

    def _remember(self, rid_key, op, project, zone):
        if rid_key:
            self.request_ids[rid_key] = (project, zone, op["name"])

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

    # ------------------------------------------------------------ zones, types, networks
    def get_zone(self, project, zone):
        self.check_zone(project, zone)
        region = self.zones[zone]
        return {"kind": "compute#zone", "id": str(2000 + sorted(self.zones).index(zone)),
                "creationTimestamp": "1969-12-31T16:00:00.000-08:00", "name": zone,
                "description": zone, "status": "UP",
                "region": self.link("projects/%s/regions/%s" % (project, region)),
                "selfLink": self.link("projects/%s/zones/%s" % (project, zone)),
                "availableCpuPlatforms": ["Intel Broadwell"], "supportsPzs": False}

    def get_machine_type(self, project, zone, name):
        self.check_zone(project, zone)
        if name not in MACHINE_TYPES:
            raise not_found("projects/%s/zones/%s/machineTypes/%s" % (project, zone, name))
        cpus = int(name.rsplit("-", 1)[1]) if name[-1].isdigit() else 2
        return {"kind": "compute#machineType", "id": str(3000 + MACHINE_TYPES.index(name)),
                "creationTimestamp": "1969-12-31T16:00:00.000-08:00", "name": name,
                "description": "%d vCPU" % cpus, "guestCpus": cpus,
                "memoryMb": 3840 * cpus, "maximumPersistentDisks": 128,
                "maximumPersistentDisksSizeGb": "263168", "zone": zone,
                "selfLink": self.link("projects/%s/zones/%s/machineTypes/%s" %
                                      (project, zone, name)),
                "isSharedCpu": name.startswith(("f1", "g1", "e2-micro", "e2-small",
                                                "e2-medium"))}

    def get_network(self, project, name):
        self.check_project(project)
        if name != "default":
            raise not_found("projects/%s/global/networks/%s" % (project, name))
        return {"kind": "compute#network", "id": "4000", "name": "default",
                "creationTimestamp": "2023-11-14T14:00:00.000-08:00",
                "description": "Default network for the project",
                "selfLink": self.link("projects/%s/global/networks/default" % project),
                "autoCreateSubnetworks": True,
                "subnetworks": [self.link("projects/%s/regions/%s/subnetworks/default" %
                                          (project, r)) for r in sorted(set(
                                              self.zones.values()))],
                "routingConfig": {"routingMode": "REGIONAL"},
                "networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL"}

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
        if not NAME.fullmatch(name):
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
        check_metadata((body.get("metadata") or {}).get("items") or [], "resource.metadata")
        check_tags((body.get("tags") or {}).get("items") or [], "resource.tags")
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
                inst["_fault"] = self.boot_faults.pop(0) if self.boot_faults else None
                self.instances[(project, zone, name)] = inst
                op = self._new_operation(project, zone, "insert", rel, inst["id"], user)
                self._spawn(self._work_insert, inst, op)
            self._remember(rid_key, op, project, zone)
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

    def _set(self, inst, **fields):
        with self.lock:
            inst.update(fields)
            self.lock.notify_all()

    def _set_addresses(self, inst, ip):
        with self.lock:
            nic = inst["networkInterfaces"][0]
            if ip is not None:
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
        """As on GCE, the operation is DONE when the instance is RUNNING; the guest
        agent installs the ssh-keys users a moment later (SSH as them may be
        refused at first: a client must retry)."""
        with inst["_busy"]:
            self._op_running(op)
            self._set(inst, status="STAGING")
            try:
                ip = self.hosts.create(inst["_local"])
                with self.lock:
                    inst["_host"] = True
                if inst["_fault"] == "NO_SSH":   # before anyone can reach it
                    self.hosts.stop_sshd(inst["_local"])
                self._set_addresses(inst, ip)
            except Exception as e:  # the instance stays, TERMINATED, as a failed boot
                self._set_addresses(inst, None)
                self._set(inst, status="TERMINATED")
                return self._host_error(op, e)
            self._set(inst, status="RUNNING", cpuPlatform="Intel Broadwell",
                      lastStartTimestamp=now_rfc3339())
            self._op_done(op)
            try:
                if inst["_fault"] is None:
                    self.hosts.guest_agent(inst["_local"], self._guest_agent_entries(inst))
            except Exception as e:
                self.log("guest agent on %s: %s" % (inst["_local"], e))

    def get_instance(self, project, zone, name):
        self.check_zone(project, zone)
        with self.lock:
            inst = self.instances.get((project, zone, name))
            if inst is None:
                raise not_found("projects/%s/zones/%s/instances/%s" % (project, zone, name))
            return public(inst)

    def list_instances(self, project, zone, query):
        self.check_zone(project, zone)
        with self.lock:
            items = [public(i) for (p, z, _), i in sorted(self.instances.items())
                     if p == project and z == zone]
        items = [i for i in items if matches_filter(i, query.get("filter"))]
        rel = "projects/%s/zones/%s/instances" % (project, zone)
        return page(items, query, "compute#instanceList", self.link(rel), rel)

    def aggregated_instances(self, project, query):
        """instances.aggregatedList: every zone, one scope entry each (a warning
        NO_RESULTS_ON_PAGE where a zone has none)."""
        self.check_project(project)
        with self.lock:
            everything = [(z, public(i)) for (p, z, _), i in sorted(self.instances.items())
                          if p == project]
        everything = [(z, i) for z, i in everything if matches_filter(i, query.get("filter"))]
        items = {}
        for zone in sorted(self.zones):
            found = [i for z, i in everything if z == zone]
            scope = "zones/" + zone
            if found:
                items[scope] = {"instances": found}
            else:
                items[scope] = {"warning": {
                    "code": "NO_RESULTS_ON_PAGE",
                    "message": "There are no results for scope '%s' on this page." % scope,
                    "data": [{"key": "scope", "value": scope}]}}
        rel = "projects/%s/aggregated/instances" % project
        return {"kind": "compute#instanceAggregatedList", "id": rel, "items": items,
                "selfLink": self.link(rel)}

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
            self._remember(rid_key, op, project, zone)
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

    def set_metadata(self, project, zone, name, body, query, user):
        check_metadata(body.get("items") or [], "metadata")
        return self._set_fingerprinted(project, zone, name, body, query, user, "metadata")

    def set_tags(self, project, zone, name, body, query, user):
        check_tags(body.get("items") or [], "tags")
        return self._set_fingerprinted(project, zone, name, body, query, user, "tags")

    def _set_fingerprinted(self, project, zone, name, body, query, user, what):
        """setMetadata / setTags: optimistic locking on the current fingerprint."""
        self.check_zone(project, zone)
        rel = "projects/%s/zones/%s/instances/%s" % (project, zone, name)
        with self.lock:
            rid_key, replay = self._request_id(project, query)
            if replay is not None:
                return dict(replay)
            inst = self.instances.get((project, zone, name))
            if inst is None or inst["_deleted"]:
                raise not_found(rel)
            if body.get("fingerprint") != inst[what]["fingerprint"]:
                raise ApiError(412, "conditionNotMet", "Supplied fingerprint does not match "
                               "current %s fingerprint." % what)
            op_type = "setMetadata" if what == "metadata" else "setTags"
            op = self._new_operation(project, zone, op_type, rel, inst["id"], user)
            self._remember(rid_key, op, project, zone)
            self._spawn(self._work_set, inst, op, what, list(body.get("items") or []))
            return dict(op)

    def _work_set(self, inst, op, what, items):
        with inst["_busy"]:
            self._op_running(op)
            with self.lock:
                if what == "metadata":
                    items = [{"key": i["key"], "value": i.get("value", "")} for i in items]
                inst[what]["items"] = items
                inst[what]["fingerprint"] = new_fingerprint()
                running = inst["status"] == "RUNNING" and inst["_host"]
            if what == "metadata" and running:   # the guest agent watches metadata
                try:
                    self.hosts.guest_agent(inst["_local"], self._guest_agent_entries(inst))
                except Exception as e:
                    return self._host_error(op, e)
            self._op_done(op)

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

    # ------------------------------------------------------------ dump / shutdown
    def dump(self):
        with self.lock:
            return {
                "instances": [{"project": p, "zone": z, "name": n, "status": i["status"],
                               "local_machine": i["_local"] if i["_host"] else None,
                               "networkIP": i["networkInterfaces"][0].get("networkIP"),
                               "natIP": (i["networkInterfaces"][0].get("accessConfigs")
                                         or [{}])[0].get("natIP"),
                               "labels": dict(i["labels"]),
                               "tags": list(i["tags"]["items"])}
                              for (p, z, n), i in sorted(self.instances.items())],
                "firewalls": [public(f) for _, f in sorted(self.firewalls.items())],
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


