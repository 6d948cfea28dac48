"""The instance table (instances.json beside this module): type, vCPU, memory, the MME volume and the hourly
price per region, with its sources and the date its values were written (check them before buying)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import PlanInputError
from .memory import GIB
from .simulator import InstanceSpec

TABLE = Path(__file__).with_name("instances.json")


@dataclass(frozen=True)
class InstanceTable:
    date: str
    sources: dict[str, str]
    reserved_bytes: int
    rows: dict[str, dict]

    def spec(self, name: str, region: str = "us-east-1") -> InstanceSpec:
        """The simulator's view of one type: memory for models is its memory less the reserve."""
        row = self.rows.get(name)
        if row is None:
            raise PlanInputError("plan.instance_type", f"{name!r} is not in the instance table; known: "
                                 + ", ".join(sorted(self.rows)))
        price = row["price_per_hour"].get(region)
        if price is None:
            raise PlanInputError("plan.region", f"the instance table has no {region} price for {name}; it has "
                                 + ", ".join(sorted(row["price_per_hour"])))
        return InstanceSpec(name, row["vcpu"], int(row["memory_gib"] * GIB) - self.reserved_bytes,
                            int(row["volume_gb"] * 10**9), price)


def load_table(path: Path = TABLE) -> InstanceTable:
    document = json.loads(Path(path).read_text())
    return InstanceTable(document["date"], document["sources"], int(document["reserved_memory_gib"] * GIB),
                         {row["type"]: row for row in document["types"]})
