#include "drivers/amazonec2/ec2_xml.h"

#include <charconv>
#include <fmt/format.h>
#include <pugixml.hpp>

namespace dm::aws {

namespace {

// The root element of a response named root_name ("DescribeInstancesResponse").
Result<pugi::xml_node> response_root(const pugi::xml_document& doc, const char* root_name) {
  pugi::xml_node root = doc.document_element();
  if (std::string_view(root.name()) != root_name) {
    return fail(fmt::format("EC2 answered with <{}>, not <{}>", root.name(), root_name));
  }
  return root;
}

Result<pugi::xml_document> load(std::string_view body) {
  pugi::xml_document doc;
  auto parsed = doc.load_buffer(body.data(), body.size(), pugi::parse_default, pugi::encoding_utf8);
  if (!parsed) {
    return fail(fmt::format("EC2's answer is not XML: {} at byte {}", parsed.description(),
                            parsed.offset));
  }
  return doc;
}

std::string text(pugi::xml_node node, const char* child) { return node.child(child).text().get(); }

std::optional<int> number(pugi::xml_node node, const char* child) {
  std::string value = text(node, child);
  int result = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), result);
  if (value.empty() || error != std::errc() || end != value.data() + value.size()) {
    return std::nullopt;
  }
  return result;
}

bool flag(pugi::xml_node node, const char* child) { return text(node, child) == "true"; }

// <wrapper><item>…</item>…</wrapper>
template <typename Fn>
void each_item(pugi::xml_node wrapper, Fn fn) {
  for (pugi::xml_node item : wrapper.children("item")) {
    fn(item);
  }
}

Ec2Instance instance_of(pugi::xml_node item) {
  Ec2Instance instance;
  instance.instance_id = text(item, "instanceId");
  pugi::xml_node state = item.child("instanceState");
  instance.state_code = number(state, "code").value_or(-1) & 0xFF;
  instance.state_name = text(state, "name");
  instance.ip_address = text(item, "ipAddress");
  instance.private_ip_address = text(item, "privateIpAddress");
  instance.key_name = text(item, "keyName");
  instance.subnet_id = text(item, "subnetId");
  instance.vpc_id = text(item, "vpcId");
  each_item(item.child("groupSet"),
            [&](pugi::xml_node group) { instance.group_ids.push_back(text(group, "groupId")); });
  return instance;
}

// The items of root_name/wrapper, each read by read_item.
template <typename T, typename Fn>
Result<std::vector<T>> items_of(std::string_view body, const char* root_name, const char* wrapper,
                                Fn read_item) {
  auto doc = load(body);
  DM_TRY(doc);
  auto root = response_root(*doc, root_name);
  DM_TRY(root);
  std::vector<T> items;
  each_item(root->child(wrapper), [&](pugi::xml_node item) { items.push_back(read_item(item)); });
  return items;
}

} // namespace

std::optional<Ec2Error> parse_ec2_error(std::string_view body) {
  auto doc = load(body);
  if (!doc || std::string_view(doc->document_element().name()) != "Response") {
    return std::nullopt;
  }
  pugi::xml_node root = doc->document_element();
  pugi::xml_node error = root.child("Errors").child("Error");
  if (!error) {
    return std::nullopt;
  }
  return Ec2Error{text(error, "Code"), text(error, "Message"), text(root, "RequestID")};
}

Result<Ec2Reservation> parse_instances(std::string_view body) {
  auto doc = load(body);
  DM_TRY(doc);
  pugi::xml_node root = doc->document_element();
  Ec2Reservation reservation;
  if (std::string_view(root.name()) == "RunInstancesResponse") {
    reservation.reservation_id = text(root, "reservationId");
    each_item(root.child("instancesSet"),
              [&](pugi::xml_node item) { reservation.instances.push_back(instance_of(item)); });
    return reservation;
  }
  auto described = response_root(*doc, "DescribeInstancesResponse");
  DM_TRY(described);
  each_item(described->child("reservationSet"), [&](pugi::xml_node set) {
    each_item(set.child("instancesSet"),
              [&](pugi::xml_node item) { reservation.instances.push_back(instance_of(item)); });
  });
  return reservation;
}

Result<std::vector<Ec2StateChange>> parse_state_changes(std::string_view body) {
  auto doc = load(body);
  DM_TRY(doc);
  std::string_view name = doc->document_element().name();
  if (name != "StartInstancesResponse" && name != "StopInstancesResponse" &&
      name != "TerminateInstancesResponse") {
    return fail(fmt::format("EC2 answered with <{}>, not a state change", name));
  }
  std::vector<Ec2StateChange> changes;
  each_item(doc->document_element().child("instancesSet"), [&](pugi::xml_node item) {
    pugi::xml_node current = item.child("currentState");
    pugi::xml_node previous = item.child("previousState");
    changes.push_back({text(item, "instanceId"), number(current, "code").value_or(-1) & 0xFF,
                       text(current, "name"), number(previous, "code").value_or(-1) & 0xFF,
                       text(previous, "name")});
  });
  return changes;
}

Result<std::vector<Ec2SecurityGroup>> parse_security_groups(std::string_view body) {
  return items_of<Ec2SecurityGroup>(
      body, "DescribeSecurityGroupsResponse", "securityGroupInfo", [](pugi::xml_node item) {
        Ec2SecurityGroup group{text(item, "groupId"), text(item, "groupName"),
                               text(item, "vpcId"), {}};
        each_item(item.child("ipPermissions"), [&](pugi::xml_node rule) {
          Ec2Permission permission{text(rule, "ipProtocol"), number(rule, "fromPort"),
                                   number(rule, "toPort"), {}};
          each_item(rule.child("ipRanges"), [&](pugi::xml_node range) {
            permission.cidrs.push_back(text(range, "cidrIp"));
          });
          group.ingress.push_back(permission);
        });
        return group;
      });
}

Result<std::vector<Ec2Subnet>> parse_subnets(std::string_view body) {
  return items_of<Ec2Subnet>(body, "DescribeSubnetsResponse", "subnetSet", [](pugi::xml_node item) {
    return Ec2Subnet{text(item, "subnetId"),         text(item, "vpcId"),
                     text(item, "availabilityZone"), text(item, "cidrBlock"),
                     flag(item, "defaultForAz"),     flag(item, "mapPublicIpOnLaunch")};
  });
}

Result<std::vector<Ec2Vpc>> parse_vpcs(std::string_view body) {
  return items_of<Ec2Vpc>(body, "DescribeVpcsResponse", "vpcSet", [](pugi::xml_node item) {
    return Ec2Vpc{text(item, "vpcId"), text(item, "cidrBlock"), flag(item, "isDefault")};
  });
}

Result<std::vector<Ec2Image>> parse_images(std::string_view body) {
  return items_of<Ec2Image>(body, "DescribeImagesResponse", "imagesSet", [](pugi::xml_node item) {
    return Ec2Image{text(item, "imageId"), text(item, "name"), text(item, "creationDate"),
                    text(item, "imageState"), text(item, "architecture")};
  });
}

Result<Ec2Image> newest_available_image(const std::vector<Ec2Image>& images,
                                        const std::string& looked_for) {
  const Ec2Image* newest = nullptr;
  for (const auto& image : images) {
    if (image.state == "available" && !image.image_id.empty() &&
        (newest == nullptr || image.creation_date > newest->creation_date)) {
      newest = &image;
    }
  }
  if (newest == nullptr) {
    return fail(ErrorKind::not_found,
                fmt::format("no available image matches {} in this region (give one with "
                            "--amazonec2-ami)",
                            looked_for));
  }
  return *newest;
}

Result<Ec2KeyPair> parse_import_key_pair(std::string_view body) {
  auto doc = load(body);
  DM_TRY(doc);
  auto root = response_root(*doc, "ImportKeyPairResponse");
  DM_TRY(root);
  return Ec2KeyPair{text(*root, "keyName"), text(*root, "keyFingerprint"),
                    text(*root, "keyPairId")};
}

Result<std::string> parse_group_id(std::string_view body) {
  auto doc = load(body);
  DM_TRY(doc);
  auto root = response_root(*doc, "CreateSecurityGroupResponse");
  DM_TRY(root);
  std::string id = text(*root, "groupId");
  if (id.empty()) {
    return fail("EC2 created a security group but gave no groupId");
  }
  return id;
}

Result<Ec2Return> parse_return(std::string_view body) {
  auto doc = load(body);
  DM_TRY(doc);
  pugi::xml_node root = doc->document_element();
  if (!root.child("return")) {
    return fail(fmt::format("EC2 answered with <{}> without <return>", root.name()));
  }
  Ec2Return result{flag(root, "return"), {}};
  each_item(root.child("securityGroupRuleSet"), [&](pugi::xml_node rule) {
    result.rule_ids.push_back(text(rule, "securityGroupRuleId"));
  });
  return result;
}

} // namespace dm::aws
