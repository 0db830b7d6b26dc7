"""The two published formulas as parameter sets of the risk family; 1.0.0 is current.

Hashes are frozen literals, as migrations must not change with later code; a test checks them.
"""

from django.db import migrations

PUBLISHED = [
    {
        "version": "1.0.0",
        "description": "The MVP formula behind the published live API response (jediswap 44, ekubo 34).",
        "model_hash": "0x034d036ab69e14df6bbe830592d40f4501f11b8b02c5c00c90c974078c76563b",
        "is_current": True,
        "parameters": {
            "utilization": {"weight": 35, "divisor": 10000, "offset": 0},
            "volatility": {"weight": 30, "divisor": 10000, "offset": 0},
            "liquidity_points": [15, 10, 5, 0],
            "audit": {"weight": 1, "divisor": 5, "offset": 0},
            # max(0, 10 - floor(d / 100)) == ceil((1000 - min(d, 1000)) / 100): offset 99 rounds up.
            "age": {"weight": 1, "divisor": 100, "offset": 99, "cap_days": 1000},
            "clamp_min": 5,
            "clamp_max": 95,
        },
    },
    {
        "version": "2.0.0",
        "description": "The formula of the upstream on-chain RiskEngine (Sepolia: 33 / 33, 4126 / 5874).",
        "model_hash": "0x0241bdf071bd3c5f1312bd78cb8803eac2d3ad728ebffc646a5daca64698300d",
        "is_current": False,
        "parameters": {
            "utilization": {"weight": 25, "divisor": 10000, "offset": 0},
            "volatility": {"weight": 40, "divisor": 10000, "offset": 0},
            "liquidity_points": [0, 5, 15, 30],
            "audit": {"weight": 3, "divisor": 10, "offset": 0},
            "age": {"weight": 10, "divisor": 730, "offset": 0, "cap_days": 730},
            "clamp_min": 5,
            "clamp_max": 95,
        },
    },
]


def add_published(apps, schema_editor):
    ModelVersion = apps.get_model("registry", "ModelVersion")
    for row in PUBLISHED:
        ModelVersion.objects.create(family="obsqra-risk-affine-floor-v1", **row)


def remove_published(apps, schema_editor):
    apps.get_model("registry", "ModelVersion").objects.filter(version__in=[r["version"] for r in PUBLISHED]).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(add_published, remove_published)]
