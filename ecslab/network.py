"""The network a Fargate task needs: VPC, public subnets, internet gateway, route
table and security groups, each found by tag or created with tags."""

from __future__ import annotations

import logging

from .aws import ec2_tags, tag_filters

log = logging.getLogger(__name__)


def _find_one(items: list[dict], what: str, name: str) -> dict | None:
    if len(items) > 1:
        ids = ", ".join(i.get("VpcId") or i.get("SubnetId") or str(i) for i in items)
        log.warning("%d %ss are tagged %s: %s; using the first", len(items), what,
                    name, ids)
    return items[0] if items else None


def _by_name(tags: dict, name: str) -> list[dict]:
    return tag_filters({**tags, "Name": name})


def ensure_vpc(ec2, name: str, cidr: str, tags: dict) -> str:
    """The VPC's id; created with DNS support and DNS hostnames turned on.

    Fargate tasks in awsvpc mode need DNS hostnames to resolve the registry.
    """
    found = _find_one(ec2.describe_vpcs(Filters=_by_name(tags, name))["Vpcs"],
                      "VPC", name)
    if found:
        vpc_id = found["VpcId"]
    else:
        vpc_id = ec2.create_vpc(CidrBlock=cidr, TagSpecifications=[
            {"ResourceType": "vpc", "Tags": ec2_tags(tags, name)}])["Vpc"]["VpcId"]
        log.info("created VPC %s (%s) %s", name, cidr, vpc_id)

    # Idempotent either way: a VPC found after a crash may lack the attributes.
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsSupport={"Value": True})
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    log.info("VPC %s: DNS support and DNS hostnames on", vpc_id)
    return vpc_id


def availability_zones(ec2, count: int) -> list[str]:
    zones = ec2.describe_availability_zones(
        Filters=[{"Name": "state", "Values": ["available"]}])["AvailabilityZones"]
    names = sorted(z["ZoneName"] for z in zones)
    if len(names) < count:
        raise RuntimeError(f"the region has {len(names)} Availability Zones; "
                           f"the lab needs {count}")
    return names[:count]


def ensure_subnet(ec2, vpc_id: str, name: str, cidr: str, zone: str,
                  tags: dict) -> str:
    """A public subnet: instances launched in it get a public IP by default."""
    found = _find_one(ec2.describe_subnets(Filters=_by_name(tags, name))["Subnets"],
                      "subnet", name)
    if found:
        return found["SubnetId"]

    subnet_id = ec2.create_subnet(
        VpcId=vpc_id, CidrBlock=cidr, AvailabilityZone=zone,
        TagSpecifications=[{"ResourceType": "subnet",
                            "Tags": ec2_tags(tags, name)}])["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet_id,
                                MapPublicIpOnLaunch={"Value": True})
    log.info("created subnet %s (%s, %s) %s", name, cidr, zone, subnet_id)
    return subnet_id


def ensure_internet_gateway(ec2, vpc_id: str, name: str, tags: dict) -> str:
    """An internet gateway attached to the VPC."""
    found = _find_one(ec2.describe_internet_gateways(
        Filters=_by_name(tags, name))["InternetGateways"], "internet gateway", name)
    if found:
        igw_id = found["InternetGatewayId"]
        attached = {a["VpcId"] for a in found.get("Attachments", [])}
    else:
        igw_id = ec2.create_internet_gateway(TagSpecifications=[
            {"ResourceType": "internet-gateway", "Tags": ec2_tags(tags, name)}]
        )["InternetGateway"]["InternetGatewayId"]
        attached = set()
        log.info("created internet gateway %s %s", name, igw_id)

    if vpc_id not in attached:
        ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
        log.info("attached %s to %s", igw_id, vpc_id)
    return igw_id


def ensure_route_table(ec2, vpc_id: str, igw_id: str, subnet_ids: list[str],
                       name: str, tags: dict) -> str:
    """A route table sending 0.0.0.0/0 to the gateway, associated with the subnets."""
    found = _find_one(ec2.describe_route_tables(
        Filters=_by_name(tags, name))["RouteTables"], "route table", name)
    if found:
        table = found
    else:
        table = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=[
            {"ResourceType": "route-table", "Tags": ec2_tags(tags, name)}]
        )["RouteTable"]
        log.info("created route table %s %s", name, table["RouteTableId"])
    table_id = table["RouteTableId"]

    if not any(r.get("DestinationCidrBlock") == "0.0.0.0/0"
               for r in table.get("Routes", [])):
        ec2.create_route(RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0",
                         GatewayId=igw_id)
        log.info("route 0.0.0.0/0 -> %s in %s", igw_id, table_id)
    associated = {a.get("SubnetId") for a in table.get("Associations", [])}
    for subnet_id in subnet_ids:
        if subnet_id not in associated:
            ec2.associate_route_table(RouteTableId=table_id, SubnetId=subnet_id)
            log.info("associated %s with %s", subnet_id, table_id)
    return table_id


def ensure_security_group(ec2, vpc_id: str, name: str, description: str,
                          tags: dict, ingress: list[dict] | None = None) -> str:
    """A security group with exactly the ``ingress`` permissions added if missing.

    Egress stays AWS's default (all traffic out), which image pulls need.
    """
    found = _find_one(ec2.describe_security_groups(
        Filters=_by_name(tags, name) + [{"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"], "security group", name)
    if found:
        group_id = found["GroupId"]
        existing = found.get("IpPermissions", [])
    else:
        group_id = ec2.create_security_group(
            GroupName=name, Description=description, VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group",
                                "Tags": ec2_tags(tags, name)}])["GroupId"]
        existing = []
        log.info("created security group %s %s", name, group_id)

    missing = [p for p in ingress or [] if not _has_permission(existing, p)]
    if missing:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=missing)
        log.info("opened %d ingress rule(s) on %s", len(missing), group_id)
    return group_id


def _has_permission(existing: list[dict], wanted: dict) -> bool:
    for perm in existing:
        if (perm.get("IpProtocol") == wanted.get("IpProtocol")
                and perm.get("FromPort") == wanted.get("FromPort")
                and perm.get("ToPort") == wanted.get("ToPort")):
            have_cidrs = {r["CidrIp"] for r in perm.get("IpRanges", [])}
            have_groups = {g["GroupId"] for g in perm.get("UserIdGroupPairs", [])}
            want_cidrs = {r["CidrIp"] for r in wanted.get("IpRanges", [])}
            want_groups = {g["GroupId"] for g in wanted.get("UserIdGroupPairs", [])}
            if want_cidrs <= have_cidrs and want_groups <= have_groups:
                return True
    return False


def http_from_anywhere(port: int = 80) -> dict:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "HTTP from anywhere"}]}


def http_from_group(group_id: str, port: int = 80) -> dict:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
            "UserIdGroupPairs": [{"GroupId": group_id,
                                  "Description": "HTTP from the load balancer"}]}
