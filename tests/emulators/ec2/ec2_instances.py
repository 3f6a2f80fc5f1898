#!/usr/bin/python3
"""Instance actions of the EC2 emulator (RunInstances, DescribeInstances, start, stop,
reboot, terminate) and the XML of instances; mixed into Ec2State."""

import base64
import binascii
import hashlib
import json
import re
import threading

import ec2_images
from ec2_model import (PENDING, RUNNING, SHUTTING_DOWN, STOPPED, STOPPING, TERMINATED,
                       Instance, _iso, _missing, _now, _type_arch, _TYPE_RX, _VOLUME_TYPES)
from ec2_query import (OWNER_ID, Ec2Error, add_tags, apply_filters, boolean, check_id,
                       filters, indexed, indexed_groups, integer, new_id, required,
                       response_root, sub, tag_specifications)

class InstanceActions:
    """Needs Ec2State's fields and host-work methods."""

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
