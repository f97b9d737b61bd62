"""What a lab costs on a real AWS account, per hour, from a small price table.

Prices are on-demand list prices in USD for Linux/x86 Fargate, Application Load
Balancers, public IPv4 addresses and CloudWatch Logs ingestion, with the date
they were read and the page they come from. Prices change: the table says when
it was read, and the learner's bill is the authority. The emulator is free.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

PRICES_READ_ON = "2026-11-01"

SOURCES = {
    "fargate": "https://aws.amazon.com/fargate/pricing/",
    "elb": "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "ipv4": "https://aws.amazon.com/vpc/pricing/",
    "logs": "https://aws.amazon.com/cloudwatch/pricing/",
}


@dataclass(frozen=True)
class RegionPrices:
    vcpu_hour: float  # Fargate, per vCPU per hour
    gb_hour: float  # Fargate, per GB of memory per hour
    alb_hour: float  # per Application Load Balancer hour
    lcu_hour: float  # per load balancer capacity unit hour
    ipv4_hour: float  # per public IPv4 address hour (in use or idle)
    logs_gb: float  # per GB of log data ingested


PRICES = {
    "us-east-1": RegionPrices(0.04048, 0.004445, 0.0225, 0.008, 0.005, 0.50),
    "us-west-2": RegionPrices(0.04048, 0.004445, 0.0225, 0.008, 0.005, 0.50),
    "eu-west-1": RegionPrices(0.04048, 0.004445, 0.0252, 0.008, 0.005, 0.57),
    "ap-northeast-1": RegionPrices(0.05056, 0.00553, 0.0243, 0.008, 0.005, 0.76),
}

COLUMNS = ["resource", "quantity", "unit", "unit price (USD)", "per hour (USD)",
           "source"]


class NoPricesError(ValueError):
    """The price table has no row for the region, so no figure can be given."""


def prices_for(region: str) -> RegionPrices:
    """The region's prices; a region not in the table is named in the error."""
    try:
        return PRICES[region]
    except KeyError:
        raise NoPricesError(f"no prices for region {region!r} in ecslab.cost (known: "
                         f"{', '.join(sorted(PRICES))}); check the AWS pricing "
                         "pages for it") from None


def fargate_task_rows(prices: RegionPrices, count: int, cpu: str,
                      memory: str) -> list[dict]:
    """Fargate bills vCPU and memory per second while a task runs (1 min minimum),
    and each task with a public IP holds one public IPv4 address."""
    vcpus = int(cpu) / 1024
    gigabytes = int(memory) / 1024
    return [
        _row("Fargate vCPU", count * vcpus, "vCPU-hour", prices.vcpu_hour, "fargate"),
        _row("Fargate memory", count * gigabytes, "GB-hour", prices.gb_hour,
             "fargate"),
        _row("public IPv4 (tasks)", count, "address-hour", prices.ipv4_hour, "ipv4"),
    ]


def load_balancer_rows(prices: RegionPrices, zones: int = 2,
                       lcus: float = 1.0) -> list[dict]:
    """An ALB bills its hours and at least its capacity units in use, and holds a
    public IPv4 address in each Availability Zone."""
    return [
        _row("Application Load Balancer", 1, "ALB-hour", prices.alb_hour, "elb"),
        _row("load balancer capacity units", lcus, "LCU-hour", prices.lcu_hour,
             "elb"),
        _row("public IPv4 (load balancer)", zones, "address-hour", prices.ipv4_hour,
             "ipv4"),
    ]


def logs_row(prices: RegionPrices, gigabytes_per_hour: float) -> dict:
    return _row("CloudWatch Logs ingestion", gigabytes_per_hour, "GB ingested",
                prices.logs_gb, "logs")


def _row(resource: str, quantity: float, unit: str, price: float,
         source: str) -> dict:
    return {"resource": resource, "quantity": quantity, "unit": unit,
            "unit price (USD)": price, "per hour (USD)": quantity * price,
            "source": SOURCES[source]}


def estimate(spec, region: str, service: bool = False) -> pd.DataFrame:
    """Hourly cost of the task lab (one task) or the service lab while it runs."""
    prices = prices_for(region)
    if service:
        rows = fargate_task_rows(prices, spec.desired_count, spec.task_cpu,
                                 spec.task_memory)
        rows += load_balancer_rows(prices, zones=len(spec.subnet_cidrs))
        rows.append(logs_row(prices, 0.001))
    else:
        rows = fargate_task_rows(prices, 1, spec.task_cpu, spec.task_memory)
        rows.append(logs_row(prices, 0.0001))
    return _with_total(rows)


def billing_now(found, spec, region: str) -> pd.DataFrame:
    """What the resources that exist right now cost per hour ("still billing")."""
    prices = prices_for(region)
    running = [r for r in found["task"] if r["state"] not in ("STOPPED",)]
    rows = []
    if running:
        rows += fargate_task_rows(prices, len(running), spec.task_cpu,
                                  spec.task_memory)
    if found["load balancer"]:
        rows += load_balancer_rows(prices, zones=len(spec.subnet_cidrs))
    return _with_total(rows)


def _with_total(rows: list[dict]) -> pd.DataFrame:
    table = pd.DataFrame(rows, columns=COLUMNS)
    total = {"resource": "total", "quantity": None, "unit": "",
             "unit price (USD)": None,
             "per hour (USD)": float(table["per hour (USD)"].sum()) if rows else 0.0,
             "source": f"list prices read on {PRICES_READ_ON}"}
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)
