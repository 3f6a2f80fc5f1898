#!/usr/bin/python3
"""Instance states, small value helpers and the Instance record of the EC2 emulator."""

import queue
import re
import time

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
