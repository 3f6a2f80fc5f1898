#!/usr/bin/python3
"""The emulator's AMI catalogue: a few public images named as their publishers
name them. Whatever an image says, its instances are Debian 12 hosts of the
local driver; the default user is the one the real image's cloud-init makes."""

import hashlib

DEBIAN_OWNER = "136693071363"    # Debian's AWS account (cloud team's official AMIs)
CANONICAL_OWNER = "099720109477"
AMAZON_OWNER = "137112412989"


def _image_id(name):
    return "ami-" + hashlib.sha256(name.encode()).hexdigest()[:17]


def _debian(version, arch, stamp, created, deprecated=None, flavour=""):
    name = "debian-%s%s-%s-%s" % (version, flavour, arch, stamp)
    return {
        "id": _image_id(name), "name": name, "owner": DEBIAN_OWNER, "alias": None,
        "arch": arch, "created": created, "deprecation": deprecated,
        "description": "Debian %s%s (%s)" % (version, " backports" if flavour else "", stamp),
        "user": "admin", "location": "%s/%s" % (DEBIAN_OWNER, name),
    }


CATALOGUE = [
    _debian("12", "amd64", "20231013-1532", "2023-10-13T15:40:12.000Z",
            deprecated="2025-10-13T15:40:12.000Z"),
    _debian("12", "amd64", "20250610-2137", "2025-06-10T21:45:03.000Z",
            deprecated="2027-06-10T21:45:03.000Z"),
    _debian("12", "amd64", "20251112-2294", "2025-11-12T22:51:40.000Z",
            deprecated="2027-11-12T22:51:40.000Z"),
    _debian("12", "arm64", "20251112-2294", "2025-11-12T22:52:11.000Z",
            deprecated="2027-11-12T22:52:11.000Z"),
    _debian("12", "amd64", "20251113-2295", "2025-11-13T08:01:59.000Z",
            deprecated="2027-11-13T08:01:59.000Z", flavour="-backports"),
    _debian("11", "amd64", "20240717-1811", "2024-07-17T18:20:30.000Z",
            deprecated="2026-07-17T18:20:30.000Z"),
    {"id": _image_id("ubuntu-noble"), "owner": CANONICAL_OWNER, "alias": None,
     "name": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610",
     "arch": "amd64", "created": "2025-06-10T10:12:00.000Z", "deprecation": None,
     "description": "Canonical, Ubuntu, 24.04, amd64 noble image",
     "user": "ubuntu",
     "location": "amazon/ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-20250610"},
    {"id": _image_id("al2023"), "owner": AMAZON_OWNER, "alias": "amazon",
     "name": "al2023-ami-2023.7.20250609.0-kernel-6.1-x86_64",
     "arch": "amd64", "created": "2025-06-09T19:03:00.000Z", "deprecation": None,
     "description": "Amazon Linux 2023 AMI 2023.7.20250609.0 x86_64 HVM kernel-6.1",
     "user": "ec2-user", "location": "amazon/al2023-ami-2023.7.20250609.0-kernel-6.1-x86_64"},
]


def architecture(image):
    """EC2's architecture name of the image."""
    return "x86_64" if image["arch"] == "amd64" else "arm64"


def by_id(image_id):
    for image in CATALOGUE:
        if image["id"] == image_id:
            return image
    return None
