"""The demo's know-your-customer registry (fictional names), written once account ids are known.

It shows what a compliance officer must see: an end customer in Country Group D:5 behind a
reseller, a Singapore customer in D:5 through its PRC ultimate parent, one customer on both clouds, an account nobody is registered for, and a registered
customer whose account could not be read.
"""

from __future__ import annotations

from typing import Any

BOREALIS = "5d3b8f2e-6a41-4c97-b2d8-0e7f1a9c4b63"
COBALT = "a7c1e94b-2f3d-4e8a-9b61-c5d0f2e7a318"
# "tundra-contractor-sandbox" (Azure) and "atlas-render-farm" (AWS) are deliberately unregistered.


def demo_customers(aws: dict[str, str]) -> dict[str, Any]:
    """`aws` maps member account names to their (emulator-assigned) ids."""

    def acct(name: str) -> dict[str, str]:
        return {"provider": "aws", "id": aws[name]}

    return {
        "version": 1,
        "customers": [
            {
                "id": "northwind-resale",
                "legal_name": "Northwind Cloud Resale Ltd.",
                "country": "IE",
                "address": "4 Harbour Row, Dublin 2, Ireland",
                "beneficial_owners": [{"name": "Northwind Holdings plc", "country": "IE"}],
            },
            {
                "id": "shenzhen-aurora-frontier",
                "legal_name": "深圳极光前沿人工智能研究院有限公司",
                "country": "CN",
                "address": "极光路 88 号, 南山区, 深圳市, 中国",
                "beneficial_owners": [{"name": "极光前沿控股有限公司", "country": "CN"}],
                "intermediary": "northwind-resale",
                "accounts": [acct("aurora-frontier-research")],
            },
            {
                "id": "meridian-genomics",
                "legal_name": "Meridian Genomics AG",
                "country": "CH",
                "address": "Rheinweg 12, 4058 Basel, Switzerland",
                "beneficial_owners": [
                    {"name": "Meridian Life Sciences Holding AG", "country": "CH"}
                ],
                # One customer on both clouds: an AWS account held through the reseller's organization
                # and its own Azure subscription.
                "accounts": [acct("meridian-genomics"), {"provider": "azure", "id": BOREALIS}],
            },
            {
                # Headquartered in Singapore, but its ultimate parent is in the PRC: the D:5 rules
                # reach it through the parent (headquarters test, BIS guidance of 13 May 2025).
                "id": "kestrel-analytics",
                "legal_name": "Kestrel Analytics Pte. Ltd.",
                "country": "SG",
                "address": "8 Marina View, #20-01, Singapore 018960",
                "intermediary": "northwind-resale",
                "ultimate_parent": {"name": "红隼数据科技集团有限公司", "country": "CN"},
                "accounts": [acct("kestrel-analytics")],
            },
            {
                "id": "halcyon-media",
                "legal_name": "Halcyon Media GmbH",
                "country": "DE",
                "address": "Lindenstrasse 5, 10969 Berlin, Germany",
                "accounts": [acct("halcyon-media")],
            },
            {
                "id": "quiet-ledger",
                "legal_name": "Quiet Ledger Finance S.A.",
                "country": "LU",
                "accounts": [acct("quiet-ledger-finance")],
            },
            {
                "id": "cobalt-assist",
                "legal_name": "Cobalt Assist Inc.",
                "country": "US",
                "address": "500 Market Street, San Francisco, CA, USA",
                "accounts": [{"provider": "azure", "id": COBALT}],
            },
        ],
    }
