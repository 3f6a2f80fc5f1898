#!/usr/bin/python3
"""The emulator's account: instances, key pairs, security groups, one default
VPC and subnet. Each EC2 action is a method `act_<Action>(params)` returning
the response root element; state lives behind one lock. Instance host work
(create, stop, start, reboot, rm) runs in one worker thread per instance, in
order, so API calls return at once with pending/stopping/shutting-down."""

import base64
import binascii
import hashlib
import ipaddress
import json
import queue
import re
import struct
import threading
import time

import ec2_images
from ec2_query import (OWNER_ID, Ec2Error, add_tags, apply_filters, boolean, check_id,
                       check_tag, filters, indexed, indexed_groups, integer, new_id, required,
                       response_root, sub, tag_specifications)

PENDING, RUNNING, SHUTTING_DOWN, TERMINATED, STOPPING, STOPPED = (
    (0, "pending"), (16, "running"), (32, "shutting-down"), (48, "terminated"),
    (64, "stopping"), (80, "stopped"))

_TYPE_RX = re.compile(r"^(t2|t3|t3a|t4g|m5|m5a|m6i|m6a|m6g|m7i|m7g|c5|c5a|c6i|c6a|c6g|c7i|c7g|"
                      r"r5|r6i|r6g|m1|m3)\.(nano|micro|small|medium|large|xlarge|[0-9]+xlarge|metal)$")
_VOLUME_TYPES = ("standard", "io1", "io2", "gp2", "sc1", "st1", "gp3")
_PROTOCOLS = {"tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
              "icmpv6": "icmpv6", "58": "icmpv6", "-1": "-1", "all": "-1"}


def _now():
    return time.time()


def _iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def _type_arch(instance_type):
    family = instance_type.split(".")[0]
    return "arm64" if family.endswith("g") else "x86_64"


def _missing(kind, ids):
    """NotFound message for one or several ids, in EC2's wording."""
    if kind == "instance":
        if len(ids) == 1:
            return "The instance ID '%s' does not exist" % ids[0]
        return "The instance IDs '%s' do not exist" % ", ".join(ids)
    if kind == "image":
        if len(ids) == 1:
            return "The image id '[%s]' does not exist" % ids[0]
        return "The image ids '[%s]' do not exist" % ", ".join(ids)
    raise ValueError(kind)


class Instance:
    def __init__(self, **fields):
        self.__dict__.update(fields)
        self.queue = queue.Queue()
        self.busy = 0


class Ec2State:
    """All resources of the emulated account, and the actions on them."""

    def __init__(self, region, subnet_cidr, hosts, fake_delay=0.2, terminated_ttl=60,
                 instance_limit=20, log=print, public_ip="separate"):
        self.lock = threading.RLock()
        self.region = region
        self.zone = region + "a"
        self.hosts = hosts            # LocalHosts, or None: no real hosts (fake IPs)
        self.fake_delay = fake_delay
        self.terminated_ttl = terminated_ttl
        self.instance_limit = instance_limit
        self.log = log
        net = ipaddress.ip_network(subnet_cidr, strict=True)
        self.network = net
        self._fake_ips = (str(h) for h in list(net.hosts())[1:])
        # Public addresses: "separate" gives each running instance one more address
        # on its host from the top of the subnet (the local driver leases from .2
        # up), a new one at every start, as EC2 without an Elastic IP; "same" uses
        # the private address.
        self.public_mode = public_ip
        self._public_pool = [str(h) for h in reversed(list(net.hosts()))][:max(
            1, min(55, net.num_addresses // 4))]
        self._public_used = set()
        self._public_cursor = 0
        self.vpc = {"id": new_id("vpc"), "cidr": str(net), "tags": {}, "default": True}
        self.subnet = {"id": new_id("subnet"), "cidr": str(net), "tags": {}}
        self.instances = {}           # id -> Instance (terminated ones until purged)
        self.reservations = {}        # reservation id -> [instance ids]
        self.key_pairs = {}           # name -> dict
        self.groups = {}              # id -> dict
        self.client_tokens = {}       # token -> (fingerprint, reservation id)
        self.workers = []
        self.faults = {}              # host fault -> how many next launches get it
        default = self._new_group("default", "default VPC security group", self.vpc["id"])
        default["ingress"].append(self._rule(default["id"], "-1", None, None, "group",
                                             default["id"], None, False))

    # ------------------------------------------------------------ helpers

    def _rule(self, group_id, protocol, from_port, to_port, kind, peer, description, egress):
        return {"id": new_id("sgr"), "group": group_id, "protocol": protocol, "from": from_port,
                "to": to_port, "kind": kind, "peer": peer, "description": description,
                "egress": egress}

    def _new_group(self, name, description, vpc_id):
        group = {"id": new_id("sg"), "name": name, "description": description, "vpc": vpc_id,
                 "tags": {}, "ingress": [], "egress": []}
        group["egress"].append(self._rule(group["id"], "-1", None, None, "cidr", "0.0.0.0/0",
                                          None, True))
        self.groups[group["id"]] = group
        return group

    def purge(self):
        """Terminated instances stay visible for terminated_ttl seconds, then vanish."""
        now = _now()
        for iid in [i for i, inst in self.instances.items()
                    if inst.state == TERMINATED and inst.busy == 0
                    and now - inst.terminated_at >= self.terminated_ttl]:
            inst = self.instances.pop(iid)
            rest = [x for x in self.reservations.get(inst.reservation, []) if x != iid]
            if rest:
                self.reservations[inst.reservation] = rest
            else:
                self.reservations.pop(inst.reservation, None)

    def _instances_by_ids(self, ids):
        for iid in ids:
            check_id("i", iid)
        unknown = [i for i in ids if i not in self.instances]
        if unknown:
            raise Ec2Error("InvalidInstanceID.NotFound", _missing("instance", unknown))
        return [self.instances[i] for i in ids]

    def _group_by_id(self, gid, vpc_for_message=None):
        check_id("sg", gid)
        group = self.groups.get(gid)
        if group is None:
            if vpc_for_message:
                raise Ec2Error("InvalidGroup.NotFound", "The security group '%s' does not exist "
                               "in VPC '%s'" % (gid, vpc_for_message))
            raise Ec2Error("InvalidGroup.NotFound", "The security group '%s' does not exist" % gid)
        return group

    def _group_by_name(self, name):
        for group in self.groups.values():
            if group["name"] == name and group["vpc"] == self.vpc["id"]:
                return group
        raise Ec2Error("InvalidGroup.NotFound", "The security group '%s' does not exist in "
                       "default VPC '%s'" % (name, self.vpc["id"]))

    def _dry_run(self, params):
        if boolean(params, "DryRun"):
            raise Ec2Error("DryRunOperation",
                           "Request would have succeeded, but DryRun flag is set.", 412)

    # ------------------------------------------------------------ host work

    def _enqueue(self, inst, op, *args):
        inst.busy += 1
        inst.queue.put((op, args))

    def _worker(self, inst):
        while True:
            op, args = inst.queue.get()
            if op is None:
                return
            try:
                getattr(self, "_host_" + op)(inst, *args)
            except Exception as exc:  # noqa: BLE001 - any failure of host work is logged
                self.log("instance %s: %s failed: %s" % (inst.id, op, exc))
                self._host_failed(inst, op)
            finally:
                with self.lock:
                    inst.busy -= 1
            if inst.state == TERMINATED and inst.queue.empty():
                return

    def _wait_fake(self):
        time.sleep(self.fake_delay)

    def _take_fault(self):
        for fault, count in list(self.faults.items()):
            if count > 0:
                self.faults[fault] = count - 1
                return fault
        return None

    def _host_launch(self, inst):
        if inst.fault == "launch-fails":
            raise RuntimeError("injected fault: launch-fails")
        if self.hosts is None:
            self._wait_fake()
            ip = next(self._fake_ips)
        else:
            inst.host_made = True
            ip = self.hosts.create(inst.id)
            key = self.key_pairs.get(inst.key_name) if inst.key_name else None
            self.hosts.cloud_init(inst.id, inst.user, key["public_key"] if key else None,
                                  inst.user_data)
        public = self._attach_public(inst, ip)
        if inst.fault == "no-ssh" and self.hosts is not None:
            self.hosts.stop_sshd(inst.id)
        with self.lock:
            inst.private_ip = ip
            if inst.state == PENDING:
                inst.public_ip = public
                self._set_state(inst, RUNNING)
                inst.ever_running = True
                inst.launched_at_ready = _now()
            else:
                self._release_public(public)

    def _host_stop(self, inst, force):
        if self.hosts is not None and inst.host_made:
            self.hosts.stop(inst.id, force)
        else:
            self._wait_fake()
        with self.lock:
            self._release_public(inst.held_public)
            inst.held_public = None
            if inst.state == STOPPING:
                self._set_state(inst, STOPPED)
                inst.reason = "User initiated (%s GMT)" % time.strftime(
                    "%Y-%m-%d %H:%M:%S", time.gmtime())
                inst.state_reason = ("Client.UserInitiatedShutdown",
                                     "Client.UserInitiatedShutdown: User initiated shutdown")

    def _host_start(self, inst):
        if self.hosts is not None and inst.host_made:
            ip = self.hosts.start(inst.id)
        else:
            self._wait_fake()
            ip = inst.private_ip
        public = self._attach_public(inst, ip)
        with self.lock:
            if inst.state == PENDING:
                inst.private_ip = ip
                inst.public_ip = public
                inst.reason = ""
                inst.state_reason = None
                self._set_state(inst, RUNNING)

    def _host_reboot(self, inst):
        if self.hosts is not None and inst.host_made:
            self.hosts.reboot(inst.id)

    def _host_terminate(self, inst):
        if self.hosts is not None and inst.host_made:
            self.hosts.remove(inst.id)
            inst.host_made = False
        else:
            self._wait_fake()
        with self.lock:
            self._terminated(inst)

    def _attach_public(self, inst, private_ip):
        """The instance's public address once its host is up (None: private only)."""
        if not inst.public:
            return None
        if self.public_mode == "same":
            return private_ip
        with self.lock:
            free = [a for a in self._public_pool if a not in self._public_used]
            if not free:
                raise RuntimeError("no public address left in the emulator's pool")
            # Round robin, so a restarted instance gets another address than before.
            pool = self._public_pool
            address = min(free, key=lambda a: (pool.index(a) - self._public_cursor) % len(pool))
            self._public_cursor = (pool.index(address) + 1) % len(pool)
            self._public_used.add(address)
            inst.held_public = address
        if self.hosts is not None and inst.host_made:
            self.hosts.add_address(inst.id, address, self.network.prefixlen)
        return address

    def _release_public(self, address):
        if address is not None and self.public_mode != "same":
            self._public_used.discard(address)

    def _terminated(self, inst):
        self._set_state(inst, TERMINATED)
        self._release_public(inst.held_public)
        inst.held_public = None
        inst.public_ip = None
        inst.terminated_at = _now()
        if inst.state_reason is None or inst.state_reason[0] != "Server.InternalError":
            inst.state_reason = ("Client.UserInitiatedShutdown",
                                 "Client.UserInitiatedShutdown: User initiated shutdown")

    def _host_failed(self, inst, op):
        """A failed launch ends terminated with Server.InternalError, as EC2 shows a
        launch that failed; the half-made host is removed."""
        if op == "launch":
            if self.hosts is not None:
                try:
                    self.hosts.remove(inst.id)
                except Exception as exc:  # noqa: BLE001
                    self.log("instance %s: rm after failed launch: %s" % (inst.id, exc))
                inst.host_made = False
            with self.lock:
                inst.state_reason = ("Server.InternalError",
                                     "Server.InternalError: Internal error on launch")
                self._terminated(inst)
            return
        # Other steps fall back to the state the host is most likely in, so the API
        # never stays in a transition; shutdown's sweep removes any leftover host.
        with self.lock:
            if op == "stop" and inst.state == STOPPING:
                inst.public_ip = inst.held_public if inst.public else None
                self._set_state(inst, RUNNING)
            elif op == "start" and inst.state == PENDING:
                inst.state_reason = ("Server.InternalError",
                                     "Server.InternalError: Internal error on start")
                self._set_state(inst, STOPPED)
            elif op == "terminate":
                self._terminated(inst)

    def _set_state(self, inst, state):
        inst.state = state
        inst.state_since = _now()

    def busy(self):
        with self.lock:
            return sum(i.busy for i in self.instances.values())

    def shutdown(self, timeout=600):
        """Terminates every instance (their hosts are removed) and waits, bounded."""
        with self.lock:
            for inst in self.instances.values():
                if inst.state != TERMINATED and inst.state != SHUTTING_DOWN:
                    self._set_state(inst, SHUTTING_DOWN)
                    self._enqueue(inst, "terminate")
                inst.queue.put((None, ()))    # a worker with nothing left to do ends
        deadline = _now() + timeout
        for worker in self.workers:
            worker.join(max(0.0, deadline - _now()))

    # ------------------------------------------------------------ XML pieces

    def _dns(self, ip, private):
        dashed = ip.replace(".", "-")
        if private:
            return "ip-%s.%s" % (dashed, "ec2.internal" if self.region == "us-east-1"
                                 else self.region + ".compute.internal")
        if self.region == "us-east-1":
            return "ec2-%s.compute-1.amazonaws.com" % dashed
        return "ec2-%s.%s.compute.amazonaws.com" % (dashed, self.region)

    def _group_items(self, parent, group_ids):
        group_set = sub(parent, "groupSet")
        for gid in group_ids:
            item = sub(group_set, "item")
            sub(item, "groupId", gid)
            group = self.groups.get(gid)
            sub(item, "groupName", group["name"] if group else None)

    def _instance_xml(self, item, inst):
        sub(item, "instanceId", inst.id)
        sub(item, "imageId", inst.image_id)
        state = sub(item, "instanceState")
        sub(state, "code", inst.state[0])
        sub(state, "name", inst.state[1])
        sub(item, "privateDnsName", self._dns(inst.private_ip, True) if inst.private_ip else None)
        sub(item, "dnsName", self._dns(inst.public_ip, False) if inst.public_ip else None)
        sub(item, "reason", inst.reason or None)
        if inst.key_name:
            sub(item, "keyName", inst.key_name)
        sub(item, "amiLaunchIndex", inst.launch_index)
        sub(item, "productCodes")
        sub(item, "instanceType", inst.instance_type)
        sub(item, "launchTime", _iso(inst.launch_time))
        placement = sub(item, "placement")
        sub(placement, "availabilityZone", self.zone)
        sub(placement, "groupName")
        sub(placement, "tenancy", "default")
        monitoring = sub(item, "monitoring")
        sub(monitoring, "state", "enabled" if inst.monitoring else "disabled")
        if inst.state != TERMINATED:
            sub(item, "subnetId", self.subnet["id"])
            sub(item, "vpcId", self.vpc["id"])
            if inst.private_ip:
                sub(item, "privateIpAddress", inst.private_ip)
        if inst.public_ip:
            sub(item, "ipAddress", inst.public_ip)
        sub(item, "sourceDestCheck", True)
        self._group_items(item, inst.group_ids if inst.state != TERMINATED else [])
        if inst.state_reason:
            reason = sub(item, "stateReason")
            sub(reason, "code", inst.state_reason[0])
            sub(reason, "message", inst.state_reason[1])
        sub(item, "architecture", ec2_images.architecture(inst.image))
        sub(item, "rootDeviceType", "ebs")
        sub(item, "rootDeviceName", "/dev/xvda")
        bdm = sub(item, "blockDeviceMapping")
        if inst.state != TERMINATED:
            for device in inst.volumes:
                ditem = sub(bdm, "item")
                sub(ditem, "deviceName", device["name"])
                ebs = sub(ditem, "ebs")
                sub(ebs, "volumeId", device["id"])
                sub(ebs, "status", "attached" if inst.state != PENDING else "attaching")
                sub(ebs, "attachTime", _iso(inst.launch_time))
                sub(ebs, "deleteOnTermination", device["delete"])
        if inst.spot_request:
            sub(item, "instanceLifecycle", "spot")
            sub(item, "spotInstanceRequestId", inst.spot_request)
        sub(item, "virtualizationType", "hvm")
        sub(item, "clientToken", inst.client_token or None)
        add_tags(item, inst.tags)
        sub(item, "hypervisor", "xen")
        enis = sub(item, "networkInterfaceSet")
        if inst.state != TERMINATED:
            self._eni_xml(sub(enis, "item"), inst)
        if inst.iam_profile:
            profile = sub(item, "iamInstanceProfile")
            sub(profile, "arn", "arn:aws:iam::%s:instance-profile/%s" % (OWNER_ID, inst.iam_profile))
            sub(profile, "id", inst.iam_profile_id)
        sub(item, "ebsOptimized", inst.ebs_optimized)
        sub(item, "enaSupport", True)

    def _eni_xml(self, eni, inst):
        sub(eni, "networkInterfaceId", inst.eni)
        sub(eni, "subnetId", self.subnet["id"])
        sub(eni, "vpcId", self.vpc["id"])
        sub(eni, "description")
        sub(eni, "ownerId", OWNER_ID)
        sub(eni, "status", "in-use")
        sub(eni, "macAddress", inst.mac)
        if inst.private_ip:
            sub(eni, "privateIpAddress", inst.private_ip)
            sub(eni, "privateDnsName", self._dns(inst.private_ip, True))
        sub(eni, "sourceDestCheck", True)
        self._group_items(eni, inst.group_ids)
        attachment = sub(eni, "attachment")
        sub(attachment, "attachmentId", "eni-attach-" + inst.eni[4:])
        sub(attachment, "deviceIndex", 0)
        sub(attachment, "status", "attaching" if inst.state == PENDING else "attached")
        sub(attachment, "attachTime", _iso(inst.launch_time))
        sub(attachment, "deleteOnTermination", True)
        if inst.public_ip:
            self._association(eni, inst)
        if inst.private_ip:
            addresses = sub(eni, "privateIpAddressesSet")
            address = sub(addresses, "item")
            sub(address, "privateIpAddress", inst.private_ip)
            sub(address, "privateDnsName", self._dns(inst.private_ip, True))
            sub(address, "primary", True)
            if inst.public_ip:
                self._association(address, inst)

    def _association(self, parent, inst):
        association = sub(parent, "association")
        sub(association, "publicIp", inst.public_ip)
        sub(association, "publicDnsName", self._dns(inst.public_ip, False))
        sub(association, "ipOwnerId", "amazon")

    def _state_changes(self, action, changes):
        root = response_root(action)
        items = sub(root, "instancesSet")
        for iid, previous, current in changes:
            item = sub(items, "item")
            sub(item, "instanceId", iid)
            for name, state in (("currentState", current), ("previousState", previous)):
                element = sub(item, name)
                sub(element, "code", state[0])
                sub(element, "name", state[1])
        return root

    def _reservation_xml(self, parent, reservation_id, instances):
        sub(parent, "reservationId", reservation_id)
        sub(parent, "ownerId", OWNER_ID)
        sub(parent, "groupSet")
        items = sub(parent, "instancesSet")
        for inst in instances:
            self._instance_xml(sub(items, "item"), inst)

    # ------------------------------------------------------------ instances

    def act_RunInstances(self, params):
        image_id = required(params, "ImageId")
        check_id("ami", image_id)
        image = ec2_images.by_id(image_id)
        if image is None:
            raise Ec2Error("InvalidAMIID.NotFound", _missing("image", [image_id]))
        min_count = integer(params, "MinCount")
        max_count = integer(params, "MaxCount")
        if min_count is None:
            required(params, "MinCount")
        if max_count is None:
            required(params, "MaxCount")
        if min_count < 1 or max_count < 1:
            raise Ec2Error("InvalidParameterValue", "Instance count must be greater than zero.")
        if min_count > max_count:
            raise Ec2Error("InvalidParameterValue", "Value (%d) for parameter minCount is "
                           "invalid. Expected a value less than or equal to maxCount." % min_count)
        instance_type = params.get("InstanceType", "m1.small")
        if not _TYPE_RX.match(instance_type):
            raise Ec2Error("InvalidParameterValue",
                           "Invalid value '%s' for InstanceType." % instance_type)
        if _type_arch(instance_type) != ec2_images.architecture(image):
            raise Ec2Error("InvalidParameterValue",
                           "The architecture '%s' of the specified instance type does not match "
                           "the architecture '%s' of the specified AMI. Specify an instance type "
                           "and an AMI that have matching architectures, and try again. You can "
                           "use 'describe-instance-types' or 'describe-images' to discover the "
                           "architecture of the instance type or AMI."
                           % (_type_arch(instance_type), ec2_images.architecture(image)))
        if ec2_images.architecture(image) != "x86_64":
            raise Ec2Error("Unsupported", "The requested configuration is currently not "
                           "supported. Please check the documentation for supported configurations.")
        key_name = params.get("KeyName")
        if key_name is not None and key_name not in self.key_pairs:
            raise Ec2Error("InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % key_name)
        group_ids, public = self._run_network(params)
        zone = params.get("Placement.AvailabilityZone")
        if zone is not None and zone != self.zone:
            raise Ec2Error("InvalidParameterValue", "Value (%s) for parameter availabilityZone is "
                           "invalid. Subnet '%s' is in the availability zone %s"
                           % (zone, self.subnet["id"], self.zone))
        user_data = params.get("UserData")
        if user_data is not None:
            try:
                raw = base64.b64decode(user_data, validate=True)
            except (binascii.Error, ValueError):
                raise Ec2Error("InvalidUserData.Malformed", "Invalid BASE64 encoding of user data.")
            if len(raw) > 16384:
                raise Ec2Error("InvalidParameterValue", "User data is limited to 16384 bytes")
        volumes = self._block_devices(params)
        tags = tag_specifications(params, ("instance", "volume", "network-interface",
                                           "spot-instances-request"))
        spot = self._market(params)
        monitoring = boolean(params, "Monitoring.Enabled")
        ebs_optimized = boolean(params, "EbsOptimized")
        profile = params.get("IamInstanceProfile.Name") or (
            params.get("IamInstanceProfile.Arn", "").rpartition("/")[2] or None)
        token = params.get("ClientToken")
        if token is not None and len(token) > 64:
            raise Ec2Error("InvalidParameterValue", "Value (%s) for parameter clientToken is "
                           "invalid. The length must be at most 64." % token)
        fingerprint = json.dumps(sorted((k, v) for k, v in params.items()
                                        if k not in ("DryRun",)))
        if token is not None and token in self.client_tokens:
            previous, reservation_id = self.client_tokens[token]
            if previous != fingerprint:
                raise Ec2Error("IdempotentParameterMismatch", "Arguments on this idempotent "
                               "request are inconsistent with arguments used in previous request(s).")
            self._dry_run(params)
            root = response_root("RunInstances")
            ids = self.reservations.get(reservation_id, [])
            self._reservation_xml(root, reservation_id, [self.instances[i] for i in ids])
            return root
        live = sum(1 for i in self.instances.values() if i.state not in (TERMINATED, SHUTTING_DOWN))
        if live + min_count > self.instance_limit:
            raise Ec2Error("InstanceLimitExceeded", "You have requested more instances (%d) than "
                           "your current instance limit of %d allows for the specified instance "
                           "type. Please visit http://aws.amazon.com/contact-us/ec2-request to "
                           "request an adjustment to this limit." % (min_count, self.instance_limit))
        count = min(max_count, self.instance_limit - live)
        self._dry_run(params)
        reservation_id = new_id("r")
        made = []
        for index in range(count):
            iid = new_id("i")
            inst = Instance(
                id=iid, reservation=reservation_id, image_id=image_id, image=image,
                user=image["user"], instance_type=instance_type, key_name=key_name,
                group_ids=group_ids, public=public, tags=dict(tags.get("instance", {})),
                state=PENDING, state_since=_now(), launch_time=_now(), private_ip=None,
                public_ip=None, reason="", state_reason=("pending", "pending"),
                client_token=token, user_data=user_data, monitoring=monitoring,
                ebs_optimized=ebs_optimized, iam_profile=profile,
                iam_profile_id="AIPA" + new_id("x")[2:19].upper(),
                volumes=[dict(v, id=new_id("vol")) for v in volumes], spot_request=(
                    "sir-" + new_id("x")[2:10] if spot else None), eni=new_id("eni"),
                mac="0e:%02x:%02x:%02x:%02x:%02x" % tuple(hashlib.sha256(iid.encode()).digest()[:5]),
                launch_index=index, ever_running=False, host_made=False, terminated_at=None,
                launched_at_ready=None, fault=self._take_fault(), held_public=None)
            self.instances[iid] = inst
            made.append(inst)
            worker = threading.Thread(target=self._worker, args=(inst,), daemon=True,
                                      name="host-" + iid)
            self.workers.append(worker)
            self._enqueue(inst, "launch")
            worker.start()
        self.reservations[reservation_id] = [i.id for i in made]
        if token is not None:
            self.client_tokens[token] = (fingerprint, reservation_id)
        root = response_root("RunInstances")
        self._reservation_xml(root, reservation_id, made)
        for inst in made:
            inst.state_reason = None
        return root

    def _run_network(self, params):
        """Security groups and public-IP choice of RunInstances (instance-level or
        NetworkInterface.N form; both at once is refused as EC2 does)."""
        enis = indexed_groups(params, "NetworkInterface")
        group_ids = indexed(params, "SecurityGroupId")
        names = indexed(params, "SecurityGroup")
        subnet_id = params.get("SubnetId")
        public = True
        if enis:
            if subnet_id is not None:
                raise Ec2Error("InvalidParameterCombination", "Network interfaces and an "
                               "instance-level subnet ID may not be specified on the same request")
            if group_ids or names:
                raise Ec2Error("InvalidParameterCombination", "Network interfaces and an "
                               "instance-level security groups may not be specified on the same "
                               "request")
            if len(enis) > 1:
                raise Ec2Error("Unsupported", "The emulator supports one network interface")
            eni = enis[0]
            if eni.get("DeviceIndex", "0") != "0":
                raise Ec2Error("InvalidParameterValue", "Each network interface requires a "
                               "device index.")
            subnet_id = eni.get("SubnetId")
            group_ids = indexed(eni, "SecurityGroupId")
            public = boolean(eni, "AssociatePublicIpAddress", True)
        if subnet_id is not None:
            check_id("subnet", subnet_id)
            if subnet_id != self.subnet["id"]:
                raise Ec2Error("InvalidSubnetID.NotFound",
                               "The subnet ID '%s' does not exist" % subnet_id)
        groups = [self._group_by_id(g, self.vpc["id"])["id"] for g in group_ids]
        groups += [self._group_by_name(n)["id"] for n in names]
        if not groups:
            groups = [g["id"] for g in self.groups.values()
                      if g["name"] == "default" and g["vpc"] == self.vpc["id"]]
        return list(dict.fromkeys(groups)), public

    def _block_devices(self, params):
        volumes = [{"name": "/dev/xvda", "size": 8, "type": "gp2", "delete": True}]
        for mapping in indexed_groups(params, "BlockDeviceMapping"):
            name = mapping.get("DeviceName")
            if not name:
                raise Ec2Error("MissingParameter", "The request must contain the parameter "
                               "BlockDeviceMapping.DeviceName")
            if not re.fullmatch(r"/dev/(sd[a-z][0-9]*|xvd[a-z][a-z]?[0-9]*)", name):
                raise Ec2Error("InvalidBlockDeviceMapping",
                               "Invalid device name %s" % name)
            if "NoDevice" in mapping or "VirtualName" in mapping:
                volumes = [v for v in volumes if v["name"] != name]
                continue
            size = integer(mapping, "Ebs.VolumeSize", None, 1, 16384)
            vtype = mapping.get("Ebs.VolumeType", "gp2")
            if vtype not in _VOLUME_TYPES:
                raise Ec2Error("InvalidParameterValue", "Value (%s) for parameter volumeType is "
                               "invalid. Valid values: %s" % (vtype, ", ".join(_VOLUME_TYPES)))
            delete = boolean(mapping, "Ebs.DeleteOnTermination", True)
            if name == "/dev/xvda":
                if size is not None and size < 8:
                    raise Ec2Error("InvalidBlockDeviceMapping", "Volume of size %dGB is smaller "
                                   "than snapshot 'snap-0a1b2c3d4e5f60718', expect size >= 8GB"
                                   % size)
                volumes[0].update(size=size or 8, type=vtype, delete=delete)
            else:
                if size is None:
                    raise Ec2Error("InvalidBlockDeviceMapping", "The request must contain the "
                                   "parameter size or snapshotId")
                volumes.append({"name": name, "size": size, "type": vtype, "delete": delete})
        return volumes

    def _market(self, params):
        market = params.get("InstanceMarketOptions.MarketType")
        spot_keys = [k for k in params if k.startswith("InstanceMarketOptions.SpotOptions.")]
        if market is None:
            if spot_keys:
                raise Ec2Error("InvalidParameterCombination", "SpotOptions require MarketType spot")
            return False
        if market not in ("spot", "capacity-block"):
            raise Ec2Error("InvalidParameterValue", "Value (%s) for parameter "
                           "InstanceMarketOptions.MarketType is invalid." % market)
        price = params.get("InstanceMarketOptions.SpotOptions.MaxPrice")
        if price is not None and not re.fullmatch(r"[0-9]+(\.[0-9]+)?", price):
            raise Ec2Error("InvalidParameterValue", "Invalid value '%s' for MaxPrice." % price)
        return market == "spot"

    def act_DescribeInstances(self, params):
        ids = indexed(params, "InstanceId")
        flist = filters(params)
        max_results = integer(params, "MaxResults")
        if max_results is not None:
            if ids:
                raise Ec2Error("InvalidParameterCombination", "The parameter instancesSet cannot "
                               "be used with the parameter maxResults")
            if not 5 <= max_results <= 1000:
                raise Ec2Error("InvalidParameterValue", "Value ( %d ) for parameter maxResults is "
                               "invalid. Expecting a value greater than 5." % max_results)
        instances = self._instances_by_ids(ids) if ids else list(self.instances.values())
        getters = {
            "instance-id": lambda i: i.id,
            "instance-state-name": lambda i: i.state[1],
            "instance-state-code": lambda i: i.state[0],
            "instance-type": lambda i: i.instance_type,
            "image-id": lambda i: i.image_id,
            "key-name": lambda i: i.key_name,
            "vpc-id": lambda i: self.vpc["id"],
            "subnet-id": lambda i: self.subnet["id"],
            "availability-zone": lambda i: self.zone,
            "ip-address": lambda i: i.public_ip,
            "private-ip-address": lambda i: i.private_ip,
            "instance.group-id": lambda i: i.group_ids,
            "instance.group-name": lambda i: [self.groups[g]["name"] for g in i.group_ids
                                              if g in self.groups],
            "reservation-id": lambda i: i.reservation,
            "client-token": lambda i: i.client_token,
            "instance-lifecycle": lambda i: "spot" if i.spot_request else None,
            "architecture": lambda i: ec2_images.architecture(i.image),
        }
        self._dry_run(params)
        matched = apply_filters(instances, flist, getters, lambda i: i.tags)
        order = []
        by_reservation = {}
        for inst in matched:
            if inst.reservation not in by_reservation:
                order.append(inst.reservation)
                by_reservation[inst.reservation] = []
            by_reservation[inst.reservation].append(inst)
        start = self._page_start(params)
        page = order[start:start + max_results] if max_results else order
        root = response_root("DescribeInstances")
        reservations = sub(root, "reservationSet")
        for rid in page:
            self._reservation_xml(sub(reservations, "item"), rid, by_reservation[rid])
        if max_results and start + max_results < len(order):
            sub(root, "nextToken", base64.b64encode(str(start + max_results).encode()).decode())
        return root

    def _page_start(self, params):
        token = params.get("NextToken")
        if token is None:
            return 0
        try:
            return int(base64.b64decode(token, validate=True).decode())
        except (ValueError, binascii.Error):
            raise Ec2Error("InvalidParameterValue", "Invalid value '%s' for nextToken" % token)

    def _change(self, action, params, check, apply):
        ids = indexed(params, "InstanceId")
        if not ids:
            required(params, "InstanceId.1")
        instances = self._instances_by_ids(ids)
        for inst in instances:
            check(inst)
        self._dry_run(params)
        changes = []
        for inst in instances:
            previous = inst.state
            apply(inst)
            changes.append((inst.id, previous, inst.state))
        return self._state_changes(action, changes)

    def act_StartInstances(self, params):
        def check(inst):
            if inst.state in (STOPPING, SHUTTING_DOWN, TERMINATED):
                raise Ec2Error("IncorrectInstanceState", "The instance '%s' is not in a state "
                               "from which it can be started." % inst.id)

        def apply(inst):
            if inst.state == STOPPED:
                self._set_state(inst, PENDING)
                self._enqueue(inst, "start")
        return self._change("StartInstances", params, check, apply)

    def act_StopInstances(self, params):
        force = boolean(params, "Force")
        boolean(params, "Hibernate")

        def check(inst):
            if inst.state == PENDING and not inst.ever_running:
                raise Ec2Error("IncorrectInstanceState", "Instance '%s' cannot be stopped as it "
                               "has never reached the 'running' state." % inst.id)
            if inst.state in (SHUTTING_DOWN, TERMINATED, PENDING):
                raise Ec2Error("IncorrectInstanceState", "The instance '%s' is not in a state "
                               "from which it can be stopped." % inst.id)
            if inst.spot_request:
                raise Ec2Error("UnsupportedOperation", "You can't stop the Spot Instance '%s' "
                               "because it is associated with a one-time Spot Instance request. "
                               "You can only stop Spot Instances associated with persistent "
                               "Spot Fleet requests." % inst.id)

        def apply(inst):
            if inst.state == RUNNING:
                self._set_state(inst, STOPPING)
                inst.public_ip = None
                self._enqueue(inst, "stop", force)
        return self._change("StopInstances", params, check, apply)

    def act_RebootInstances(self, params):
        ids = indexed(params, "InstanceId")
        if not ids:
            required(params, "InstanceId.1")
        instances = self._instances_by_ids(ids)
        for inst in instances:
            if inst.state != RUNNING:
                raise Ec2Error("IncorrectInstanceState", "The instance '%s' is not in a state "
                               "from which it can be rebooted." % inst.id)
        self._dry_run(params)
        for inst in instances:
            self._enqueue(inst, "reboot")
        root = response_root("RebootInstances")
        sub(root, "return", True)
        return root

    def act_TerminateInstances(self, params):
        def apply(inst):
            if inst.state not in (SHUTTING_DOWN, TERMINATED):
                self._set_state(inst, SHUTTING_DOWN)
                inst.public_ip = None
                self._enqueue(inst, "terminate")
        return self._change("TerminateInstances", params, lambda inst: None, apply)

    # ------------------------------------------------------------ key pairs

    def act_ImportKeyPair(self, params):
        name = required(params, "KeyName")
        material = required(params, "PublicKeyMaterial")
        if len(name) > 255 or not name.isascii():
            raise Ec2Error("InvalidParameterValue", "Value (%s) for parameter KeyName is invalid."
                           % name)
        key_type, fingerprint, line = parse_public_key(material)
        tags = tag_specifications(params, ("key-pair",)).get("key-pair", {})
        if name in self.key_pairs:
            raise Ec2Error("InvalidKeyPair.Duplicate", "The keypair '%s' already exists." % name)
        self._dry_run(params)
        key = {"name": name, "id": new_id("key"), "fingerprint": fingerprint, "type": key_type,
               "public_key": line, "tags": tags, "created": _now()}
        self.key_pairs[name] = key
        root = response_root("ImportKeyPair")
        sub(root, "keyName", name)
        sub(root, "keyFingerprint", fingerprint)
        sub(root, "keyPairId", key["id"])
        add_tags(root, tags)
        return root

    def _key_by_id(self, key_id):
        for key in self.key_pairs.values():
            if key["id"] == key_id:
                return key
        return None

    def act_DeleteKeyPair(self, params):
        name = params.get("KeyName")
        key_id = params.get("KeyPairId")
        if name is None and key_id is None:
            raise Ec2Error("MissingParameter", "The request must contain the parameter KeyName "
                           "or KeyPairId")
        if key_id is not None:
            check_id("key", key_id)
        self._dry_run(params)
        # EC2 answers true for a key pair that does not exist (DeleteKeyPair is idempotent).
        key = self.key_pairs.get(name) if name is not None else self._key_by_id(key_id)
        root = response_root("DeleteKeyPair")
        sub(root, "return", True)
        if key is not None:
            del self.key_pairs[key["name"]]
            sub(root, "keyPairId", key["id"])
        return root

    def act_DescribeKeyPairs(self, params):
        names = indexed(params, "KeyName")
        ids = indexed(params, "KeyPairId")
        keys = list(self.key_pairs.values())
        missing = [n for n in names if n not in self.key_pairs]
        if missing:
            raise Ec2Error("InvalidKeyPair.NotFound", "The key pair '%s' does not exist" % missing[0])
        for key_id in ids:
            check_id("key", key_id)
            if self._key_by_id(key_id) is None:
                raise Ec2Error("InvalidKeyPair.NotFound",
                               "The key pair ID '%s' does not exist" % key_id)
        if names or ids:
            keys = [k for k in keys if k["name"] in names or k["id"] in ids]
        getters = {"key-name": lambda k: k["name"], "key-pair-id": lambda k: k["id"],
                   "fingerprint": lambda k: k["fingerprint"], "key-type": lambda k: k["type"]}
        include_public = boolean(params, "IncludePublicKey")
        self._dry_run(params)
        keys = apply_filters(keys, filters(params), getters, lambda k: k["tags"])
        root = response_root("DescribeKeyPairs")
        key_set = sub(root, "keySet")
        for key in keys:
            item = sub(key_set, "item")
            sub(item, "keyPairId", key["id"])
            sub(item, "keyName", key["name"])
            sub(item, "keyFingerprint", key["fingerprint"])
            sub(item, "keyType", key["type"])
            add_tags(item, key["tags"], omit_empty=False)
            if include_public:
                sub(item, "publicKey", key["public_key"])
            sub(item, "createTime", _iso(key["created"]))
        return root

    # ------------------------------------------------------------ security groups

    def act_CreateSecurityGroup(self, params):
        name = required(params, "GroupName")
        description = required(params, "GroupDescription")
        vpc_id = params.get("VpcId", self.vpc["id"])
        check_id("vpc", vpc_id)
        for field, value in (("GroupName", name), ("GroupDescription", description)):
            if len(value) > 255 or not all(32 <= ord(c) < 127 for c in value):
                raise Ec2Error("InvalidParameterValue", "Value (%s) for parameter %s is invalid. "
                               "Character sets beyond ASCII are not supported."
                               % (value, field[0].lower() + field[1:]))
        if name.lower().startswith("sg-"):
            raise Ec2Error("InvalidParameterValue", "Group names may not be in the format sg-*.")
        if vpc_id != self.vpc["id"]:
            raise Ec2Error("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist" % vpc_id)
        tags = tag_specifications(params, ("security-group",)).get("security-group", {})
        if any(g["name"] == name and g["vpc"] == vpc_id for g in self.groups.values()):
            raise Ec2Error("InvalidGroup.Duplicate", "The security group '%s' already exists for "
                           "VPC '%s'" % (name, vpc_id))
        self._dry_run(params)
        group = self._new_group(name, description, vpc_id)
        group["tags"] = tags
        root = response_root("CreateSecurityGroup")
        sub(root, "return", True)
        sub(root, "groupId", group["id"])
        add_tags(root, tags)
        return root

    def _target_group(self, params):
        if params.get("GroupId") is not None:
            return self._group_by_id(params["GroupId"])
        if params.get("GroupName") is not None:
            return self._group_by_name(params["GroupName"])
        raise Ec2Error("MissingParameter", "The request must contain the parameter groupName "
                       "or groupId")

    def act_DeleteSecurityGroup(self, params):
        group = self._target_group(params)
        if group["name"] == "default":
            raise Ec2Error("CannotDelete", 'the specified group: "%s" name: "default" cannot be '
                           "deleted by a user" % group["id"])
        users = [i for i in self.instances.values()
                 if i.state != TERMINATED and group["id"] in i.group_ids]
        referrers = [g for g in self.groups.values() if g is not group and any(
            r["kind"] == "group" and r["peer"] == group["id"] for r in g["ingress"] + g["egress"])]
        if users or referrers:
            raise Ec2Error("DependencyViolation",
                           "resource %s has a dependent object" % group["id"])
        self._dry_run(params)
        del self.groups[group["id"]]
        root = response_root("DeleteSecurityGroup")
        sub(root, "return", True)
        sub(root, "groupId", group["id"])
        return root

    def _permissions(self, params):
        """[(protocol, from, to, [(kind, peer, description)])] of the request."""
        perms = indexed_groups(params, "IpPermissions")
        legacy = {k: params[k] for k in ("IpProtocol", "FromPort", "ToPort", "CidrIp",
                                         "SourceSecurityGroupName") if k in params}
        if legacy:
            if perms:
                raise Ec2Error("InvalidParameterCombination", "The parameter 'ipPermissions' may "
                               "not be used in combination with 'ipProtocol'")
            perm = {k: v for k, v in legacy.items() if k in ("IpProtocol", "FromPort", "ToPort")}
            if "CidrIp" in legacy:
                perm["IpRanges.1.CidrIp"] = legacy["CidrIp"]
            if "SourceSecurityGroupName" in legacy:
                perm["Groups.1.GroupName"] = legacy["SourceSecurityGroupName"]
                perm.setdefault("IpProtocol", "-1")
            perms = [perm]
        if not perms:
            raise Ec2Error("MissingParameter", "The request must contain the parameter "
                           "ipPermissions")
        out = []
        for perm in perms:
            raw = required(perm, "IpProtocol").lower()
            protocol = _PROTOCOLS.get(raw, raw if re.fullmatch(r"[0-9]{1,3}", raw)
                                      and int(raw) <= 255 else None)
            if protocol is None:
                raise Ec2Error("InvalidParameterValue", "Invalid value '%s' for IP protocol. "
                               "Unknown protocol." % perm["IpProtocol"])
            from_port = integer(perm, "FromPort")
            to_port = integer(perm, "ToPort")
            if protocol in ("tcp", "udp"):
                if from_port is None or to_port is None:
                    raise Ec2Error("InvalidParameterValue", "Invalid value 'Must specify both "
                                   "from and to ports with TCP/UDP.' for portRange.")
                if not (0 <= from_port <= 65535 and 0 <= to_port <= 65535) or from_port > to_port:
                    raise Ec2Error("InvalidParameterValue", "Invalid value '%s-%s' for portRange."
                                   % (from_port, to_port))
            elif protocol in ("icmp", "icmpv6"):
                from_port = -1 if from_port is None else from_port
                to_port = -1 if to_port is None else to_port
            else:
                from_port = to_port = None
            peers = []
            for rng in indexed_groups(perm, "IpRanges"):
                cidr = required(rng, "CidrIp")
                try:
                    net = ipaddress.ip_network(cidr, strict=False)
                    if net.version != 4 or "/" not in cidr:
                        raise ValueError(cidr)
                except ValueError:
                    raise Ec2Error("InvalidParameterValue", "CIDR block %s is malformed" % cidr)
                peers.append(("cidr", cidr, rng.get("Description")))
            for rng in indexed_groups(perm, "Ipv6Ranges"):
                cidr = required(rng, "CidrIpv6")
                try:
                    if ipaddress.ip_network(cidr, strict=False).version != 6:
                        raise ValueError(cidr)
                except ValueError:
                    raise Ec2Error("InvalidParameterValue", "CIDR block %s is malformed" % cidr)
                peers.append(("cidr6", cidr, rng.get("Description")))
            for pair in indexed_groups(perm, "Groups"):
                if pair.get("GroupId"):
                    gid = self._group_by_id(pair["GroupId"])["id"]
                elif pair.get("GroupName"):
                    gid = self._group_by_name(pair["GroupName"])["id"]
                else:
                    raise Ec2Error("MissingParameter", "The request must contain the parameter "
                                   "groupId or groupName")
                peers.append(("group", gid, pair.get("Description")))
            if not peers:
                raise Ec2Error("InvalidParameterValue", "The request must contain at least one "
                               "of IpRanges, Ipv6Ranges or Groups for each permission")
            out.append((protocol, from_port, to_port, peers))
        return out

    def act_AuthorizeSecurityGroupIngress(self, params):
        group = self._target_group(params)
        perms = self._permissions(params)
        tags = tag_specifications(params, ("security-group-rule",)).get("security-group-rule", {})
        new = []
        seen = {(r["protocol"], r["from"], r["to"], r["kind"], r["peer"]) for r in group["ingress"]}
        for protocol, from_port, to_port, peers in perms:
            for kind, peer, description in peers:
                key = (protocol, from_port, to_port, kind, peer)
                if key in seen:
                    raise Ec2Error("InvalidPermission.Duplicate", "the specified rule \"%s\" "
                                   "already exists" % _rule_text(protocol, from_port, to_port, peer))
                seen.add(key)
                new.append(self._rule(group["id"], protocol, from_port, to_port, kind, peer,
                                      description, False))
        self._dry_run(params)
        group["ingress"].extend(new)
        root = response_root("AuthorizeSecurityGroupIngress")
        sub(root, "return", True)
        rule_set = sub(root, "securityGroupRuleSet")
        for rule in new:
            rule["tags"] = dict(tags)
            item = sub(rule_set, "item")
            sub(item, "securityGroupRuleId", rule["id"])
            sub(item, "groupId", group["id"])
            sub(item, "groupOwnerId", OWNER_ID)
            sub(item, "isEgress", False)
            sub(item, "ipProtocol", rule["protocol"])
            sub(item, "fromPort", -1 if rule["from"] is None else rule["from"])
            sub(item, "toPort", -1 if rule["to"] is None else rule["to"])
            if rule["kind"] == "cidr":
                sub(item, "cidrIpv4", rule["peer"])
            elif rule["kind"] == "cidr6":
                sub(item, "cidrIpv6", rule["peer"])
            else:
                ref = sub(item, "referencedGroupInfo")
                sub(ref, "groupId", rule["peer"])
                sub(ref, "userId", OWNER_ID)
            if rule["description"]:
                sub(item, "description", rule["description"])
            add_tags(item, tags)
        return root

    def _permissions_xml(self, parent, name, rules):
        wrapper = sub(parent, name)
        grouped = {}
        for rule in rules:
            grouped.setdefault((rule["protocol"], rule["from"], rule["to"]), []).append(rule)
        for (protocol, from_port, to_port), members in grouped.items():
            item = sub(wrapper, "item")
            sub(item, "ipProtocol", protocol)
            if from_port is not None:
                sub(item, "fromPort", from_port)
                sub(item, "toPort", to_port)
            groups = sub(item, "groups")
            for rule in [r for r in members if r["kind"] == "group"]:
                pair = sub(groups, "item")
                sub(pair, "userId", OWNER_ID)
                sub(pair, "groupId", rule["peer"])
                if rule["description"]:
                    sub(pair, "description", rule["description"])
            for kind, wrapper_name, field in (("cidr", "ipRanges", "cidrIp"),
                                              ("cidr6", "ipv6Ranges", "cidrIpv6")):
                ranges = sub(item, wrapper_name)
                for rule in [r for r in members if r["kind"] == kind]:
                    rng = sub(ranges, "item")
                    sub(rng, field, rule["peer"])
                    if rule["description"]:
                        sub(rng, "description", rule["description"])
            sub(item, "prefixListIds")

    def act_DescribeSecurityGroups(self, params):
        ids = indexed(params, "GroupId")
        names = indexed(params, "GroupName")
        groups = [self._group_by_id(g) for g in ids] + [self._group_by_name(n) for n in names]
        if not ids and not names:
            groups = list(self.groups.values())
        getters = {"group-id": lambda g: g["id"], "group-name": lambda g: g["name"],
                   "vpc-id": lambda g: g["vpc"], "description": lambda g: g["description"],
                   "owner-id": lambda g: OWNER_ID}
        self._dry_run(params)
        groups = apply_filters(list({g["id"]: g for g in groups}.values()), filters(params),
                               getters, lambda g: g["tags"])
        root = response_root("DescribeSecurityGroups")
        info = sub(root, "securityGroupInfo")
        for group in groups:
            item = sub(info, "item")
            sub(item, "ownerId", OWNER_ID)
            sub(item, "groupId", group["id"])
            sub(item, "groupName", group["name"])
            sub(item, "groupDescription", group["description"])
            sub(item, "vpcId", group["vpc"])
            self._permissions_xml(item, "ipPermissions", group["ingress"])
            self._permissions_xml(item, "ipPermissionsEgress", group["egress"])
            add_tags(item, group["tags"])
        return root

    # ------------------------------------------------------------ network, images, zones

    def act_DescribeVpcs(self, params):
        for vpc_id in indexed(params, "VpcId"):
            check_id("vpc", vpc_id)
            if vpc_id != self.vpc["id"]:
                raise Ec2Error("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist" % vpc_id)
        getters = {"vpc-id": lambda v: v["id"], "is-default": lambda v: v["default"],
                   "state": lambda v: "available", "cidr": lambda v: v["cidr"],
                   "cidr-block-association.cidr-block": lambda v: v["cidr"],
                   "owner-id": lambda v: OWNER_ID}
        self._dry_run(params)
        vpcs = apply_filters([self.vpc], filters(params), getters, lambda v: v["tags"])
        root = response_root("DescribeVpcs")
        vpc_set = sub(root, "vpcSet")
        for vpc in vpcs:
            item = sub(vpc_set, "item")
            sub(item, "vpcId", vpc["id"])
            sub(item, "ownerId", OWNER_ID)
            sub(item, "state", "available")
            sub(item, "cidrBlock", vpc["cidr"])
            sub(item, "dhcpOptionsId", "dopt-" + vpc["id"][4:12])
            add_tags(item, vpc["tags"], omit_empty=False)
            sub(item, "instanceTenancy", "default")
            sub(item, "isDefault", True)
        return root

    def act_DescribeSubnets(self, params):
        for subnet_id in indexed(params, "SubnetId"):
            check_id("subnet", subnet_id)
            if subnet_id != self.subnet["id"]:
                raise Ec2Error("InvalidSubnetID.NotFound",
                               "The subnet ID '%s' does not exist" % subnet_id)
        getters = {"subnet-id": lambda s: s["id"], "vpc-id": lambda s: self.vpc["id"],
                   "availability-zone": lambda s: self.zone, "default-for-az": lambda s: True,
                   "defaultForAz": lambda s: True, "state": lambda s: "available",
                   "cidr-block": lambda s: s["cidr"], "map-public-ip-on-launch": lambda s: True,
                   "owner-id": lambda s: OWNER_ID}
        self._dry_run(params)
        subnets = apply_filters([self.subnet], filters(params), getters, lambda s: s["tags"])
        used = sum(1 for i in self.instances.values() if i.state != TERMINATED)
        root = response_root("DescribeSubnets")
        subnet_set = sub(root, "subnetSet")
        for subnet in subnets:
            item = sub(subnet_set, "item")
            sub(item, "subnetId", subnet["id"])
            sub(item, "state", "available")
            sub(item, "vpcId", self.vpc["id"])
            sub(item, "cidrBlock", subnet["cidr"])
            sub(item, "availableIpAddressCount", self.network.num_addresses - 5 - used)
            sub(item, "availabilityZone", self.zone)
            sub(item, "defaultForAz", True)
            sub(item, "mapPublicIpOnLaunch", True)
            add_tags(item, subnet["tags"], omit_empty=False)
        return root

    def act_DescribeImages(self, params):
        ids = indexed(params, "ImageId")
        owners = indexed(params, "Owner")
        for image_id in ids:
            check_id("ami", image_id)
        unknown = [i for i in ids if ec2_images.by_id(i) is None]
        if unknown:
            raise Ec2Error("InvalidAMIID.NotFound", _missing("image", unknown))
        images = [ec2_images.by_id(i) for i in ids] if ids else list(ec2_images.CATALOGUE)
        if owners:
            wanted = set()
            for owner in owners:
                if owner in ("amazon", "aws-marketplace"):
                    wanted |= {i["owner"] for i in images if i["alias"] == owner}
                elif owner == "self":
                    wanted.add(OWNER_ID)
                elif re.fullmatch(r"[0-9]{12}", owner):
                    wanted.add(owner)
                else:
                    raise Ec2Error("InvalidUserID.Malformed",
                                   "Invalid user id: \"%s\"" % owner)
            images = [i for i in images if i["owner"] in wanted]
        include_deprecated = boolean(params, "IncludeDeprecated")
        if not ids and not include_deprecated:
            now = _iso(_now())
            images = [i for i in images if not i["deprecation"] or i["deprecation"] > now]
        getters = {"name": lambda i: i["name"], "image-id": lambda i: i["id"],
                   "owner-id": lambda i: i["owner"], "owner-alias": lambda i: i["alias"],
                   "architecture": lambda i: ec2_images.architecture(i),
                   "state": lambda i: "available", "image-type": lambda i: "machine",
                   "is-public": lambda i: True, "root-device-type": lambda i: "ebs",
                   "root-device-name": lambda i: "/dev/xvda",
                   "virtualization-type": lambda i: "hvm", "description": lambda i: i["description"],
                   "ena-support": lambda i: True, "hypervisor": lambda i: "xen"}
        self._dry_run(params)
        images = apply_filters(images, filters(params), getters, lambda i: {})
        root = response_root("DescribeImages")
        image_set = sub(root, "imagesSet")
        for image in images:
            item = sub(image_set, "item")
            sub(item, "imageId", image["id"])
            sub(item, "imageLocation", image["location"])
            sub(item, "imageState", "available")
            sub(item, "imageOwnerId", image["owner"])
            sub(item, "creationDate", image["created"])
            sub(item, "isPublic", True)
            sub(item, "architecture", ec2_images.architecture(image))
            sub(item, "imageType", "machine")
            if image["alias"]:
                sub(item, "imageOwnerAlias", image["alias"])
            sub(item, "name", image["name"])
            sub(item, "description", image["description"])
            sub(item, "rootDeviceType", "ebs")
            sub(item, "rootDeviceName", "/dev/xvda")
            bdm = sub(sub(item, "blockDeviceMapping"), "item")
            sub(bdm, "deviceName", "/dev/xvda")
            ebs = sub(bdm, "ebs")
            sub(ebs, "snapshotId", "snap-" + image["id"][4:])
            sub(ebs, "volumeSize", 8)
            sub(ebs, "deleteOnTermination", True)
            sub(ebs, "volumeType", "gp2")
            sub(ebs, "encrypted", False)
            sub(item, "virtualizationType", "hvm")
            sub(item, "hypervisor", "xen")
            sub(item, "enaSupport", True)
            sub(item, "sriovNetSupport", "simple")
            if image["deprecation"]:
                sub(item, "deprecationTime", image["deprecation"])
        return root

    def act_DescribeAvailabilityZones(self, params):
        zones = [self.region + s for s in "abc"]
        for name in indexed(params, "ZoneName"):
            if name not in zones:
                raise Ec2Error("InvalidParameterValue", "The zone '%s' does not exist." % name)
        getters = {"zone-name": lambda z: z, "region-name": lambda z: self.region,
                   "state": lambda z: "available", "zone-type": lambda z: "availability-zone"}
        self._dry_run(params)
        wanted = indexed(params, "ZoneName")
        zones = [z for z in zones if not wanted or z in wanted]
        zones = apply_filters(zones, filters(params), getters, lambda z: {})
        root = response_root("DescribeAvailabilityZones")
        info = sub(root, "availabilityZoneInfo")
        for zone in zones:
            item = sub(info, "item")
            sub(item, "zoneName", zone)
            sub(item, "zoneState", "available")
            sub(item, "regionName", self.region)
            sub(item, "zoneId", "%s-az%d" % (self.region[:2] + self.region.split("-")[1][:1]
                                             + self.region[-1], "abc".index(zone[-1]) + 1))
            sub(item, "zoneType", "availability-zone")
            sub(item, "optInStatus", "opt-in-not-required")
            sub(item, "messageSet")
        return root

    # ------------------------------------------------------------ tags

    def _tag_target(self, resource_id):
        prefix = resource_id.split("-")[0]
        if prefix == "i":
            return self._instances_by_ids([resource_id])[0].tags
        if prefix == "sg":
            return self._group_by_id(resource_id)["tags"]
        if prefix == "key":
            check_id("key", resource_id)
            key = self._key_by_id(resource_id)
            if key is None:
                raise Ec2Error("InvalidKeyPair.NotFound",
                               "The key pair ID '%s' does not exist" % resource_id)
            return key["tags"]
        if prefix == "vpc":
            check_id("vpc", resource_id)
            if resource_id == self.vpc["id"]:
                return self.vpc["tags"]
            raise Ec2Error("InvalidVpcID.NotFound", "The vpc ID '%s' does not exist" % resource_id)
        if prefix == "subnet":
            check_id("subnet", resource_id)
            if resource_id == self.subnet["id"]:
                return self.subnet["tags"]
            raise Ec2Error("InvalidSubnetID.NotFound",
                           "The subnet ID '%s' does not exist" % resource_id)
        raise Ec2Error("InvalidID", "The ID '%s' is not valid" % resource_id)

    def _tags_request(self, params, need_tags):
        ids = indexed(params, "ResourceId")
        if not ids:
            required(params, "ResourceId.1")
        tags = []
        for tag in indexed_groups(params, "Tag"):
            if need_tags:
                check_tag(tag.get("Key"), tag.get("Value", ""))
            elif not tag.get("Key"):
                raise Ec2Error("InvalidParameterValue", "Tag key cannot be empty")
            tags.append((tag["Key"], tag.get("Value")))
        if need_tags and not tags:
            required(params, "Tag.1.Key")
        return [self._tag_target(r) for r in ids], tags

    def act_CreateTags(self, params):
        targets, tags = self._tags_request(params, True)
        for target in targets:
            if len(set(target) | {k for k, _ in tags}) > 50:
                raise Ec2Error("TagLimitExceeded",
                               "The maximum number of Tags for a resource has been reached.")
        self._dry_run(params)
        for target in targets:
            for key, value in tags:
                target[key] = value or ""
        root = response_root("CreateTags")
        sub(root, "return", True)
        return root

    def act_DeleteTags(self, params):
        targets, tags = self._tags_request(params, False)
        self._dry_run(params)
        for target in targets:
            if not tags:
                target.clear()
            for key, value in tags:
                if key in target and (value is None or target[key] == value):
                    del target[key]
        root = response_root("DeleteTags")
        sub(root, "return", True)
        return root

    # ------------------------------------------------------------ state dump

    def dump(self):
        with self.lock:
            return {
                "instances": [{
                    "id": i.id, "state": i.state[1], "code": i.state[0], "image": i.image_id,
                    "type": i.instance_type, "key_name": i.key_name, "groups": i.group_ids,
                    "private_ip": i.private_ip, "public_ip": i.public_ip, "tags": i.tags,
                    "user": i.user, "spot": bool(i.spot_request), "busy": i.busy,
                    "host": i.host_made, "launch_time": i.launch_time,
                    "ready_seconds": (round(i.launched_at_ready - i.launch_time, 2)
                                      if i.launched_at_ready else None),
                } for i in self.instances.values()],
                "key_pairs": [{"name": k["name"], "id": k["id"], "fingerprint": k["fingerprint"],
                               "type": k["type"], "tags": k["tags"]}
                              for k in self.key_pairs.values()],
                "security_groups": [{
                    "id": g["id"], "name": g["name"], "description": g["description"],
                    "vpc": g["vpc"], "tags": g["tags"],
                    "ingress": [_rule_dump(r) for r in g["ingress"]],
                    "egress": [_rule_dump(r) for r in g["egress"]],
                } for g in self.groups.values()],
                "vpc": self.vpc, "subnet": self.subnet,
                "hosts": self.hosts.existing() if self.hosts else [],
                "busy": sum(i.busy for i in self.instances.values()),
            }


def _rule_dump(rule):
    return {"id": rule["id"], "protocol": rule["protocol"], "from": rule["from"],
            "to": rule["to"], "kind": rule["kind"], "peer": rule["peer"],
            "description": rule["description"]}


def _rule_text(protocol, from_port, to_port, peer):
    """The rule as EC2 quotes it in InvalidPermission.Duplicate."""
    if protocol == "-1":
        return "peer: %s, ALL, ALLOW" % peer
    return "peer: %s, %s, from port: %s, to port: %s, ALLOW" % (
        peer, protocol.upper(), from_port, to_port)


def _ssh_string(blob, offset):
    if offset + 4 > len(blob):
        raise ValueError("truncated")
    (length,) = struct.unpack(">I", blob[offset:offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise ValueError("truncated")
    return blob[offset + 4:end], end


def parse_public_key(material):
    """PublicKeyMaterial (base64 of an OpenSSH public key line) -> (type, fingerprint,
    line). EC2 imports RSA (1024-4096 bits) and ED25519 keys only; for RSA the
    fingerprint is the MD5 of the key blob (RFC 4716 section 4), for ED25519 the
    base64 SHA-256 digest (OpenSSH 6.8's default)."""
    bad = Ec2Error("InvalidKey.Format", "Key is not in valid OpenSSH public key format")
    try:
        line = base64.b64decode(material, validate=True).decode("ascii").strip()
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad
    parts = line.split()
    if len(parts) < 2 or "\n" in line:
        raise bad
    try:
        blob = base64.b64decode(parts[1], validate=True)
        name, offset = _ssh_string(blob, 0)
        if name.decode("ascii", "replace") != parts[0]:
            raise ValueError("type mismatch")
        if parts[0] == "ssh-rsa":
            exponent, offset = _ssh_string(blob, offset)
            modulus, offset = _ssh_string(blob, offset)
            bits = int.from_bytes(modulus, "big").bit_length()
            if offset != len(blob) or not exponent:
                raise ValueError("rsa")
            if not 1024 <= bits <= 4096:
                raise Ec2Error("InvalidKey.Format", "Key is not in valid OpenSSH public key "
                               "format (RSA keys must be 1024 to 4096 bits)")
            digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - EC2's RSA fingerprint
            return "rsa", ":".join(digest[i:i + 2] for i in range(0, 32, 2)), line
        if parts[0] == "ssh-ed25519":
            key, offset = _ssh_string(blob, offset)
            if len(key) != 32 or offset != len(blob):
                raise ValueError("ed25519")
            return "ed25519", base64.b64encode(hashlib.sha256(blob).digest()).decode(), line
    except (binascii.Error, ValueError):
        raise bad
    raise bad
