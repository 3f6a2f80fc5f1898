#!/usr/bin/python3
"""Key pairs, security groups, VPC, subnet, images, zones and tags of the EC2
emulator; mixed into Ec2State."""

import base64
import binascii
import hashlib
import ipaddress
import re
import struct

import ec2_images
from ec2_model import TERMINATED, _iso, _missing, _now, _PROTOCOLS
from ec2_query import (OWNER_ID, Ec2Error, add_tags, apply_filters, boolean, check_id,
                       check_tag, filters, indexed, indexed_groups, integer, new_id, required,
                       response_root, sub, tag_specifications)

class AccountActions:
    """Needs Ec2State's fields and lookups."""

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
