#!/usr/bin/python3
"""The emulator's account: instances, key pairs, security groups, one default
VPC and subnet. Each EC2 action is a method `act_<Action>(params)` returning
the response root element; state lives behind one lock. Instance host work
(create, stop, start, reboot, rm) runs in one worker thread per instance, in
order, so API calls return at once with pending/stopping/shutting-down."""

import ipaddress
import threading
import time

from ec2_account import AccountActions
from ec2_instances import InstanceActions
from ec2_model import (PENDING, RUNNING, SHUTTING_DOWN, STOPPED, STOPPING, TERMINATED,
                       _missing, _now)
from ec2_query import Ec2Error, boolean, check_id, new_id

class Ec2State(InstanceActions, AccountActions):
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
            # EC2 keeps the public address over a reboot; the host's eth0 lost it.
            if inst.held_public is not None and self.public_mode != "same":
                self.hosts.add_address(inst.id, inst.held_public, self.network.prefixlen)

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
