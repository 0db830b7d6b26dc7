from django.db import migrations

PRESETS = [
    {
        "name": "sepolia",
        "description": "The upstream Sepolia policy: at most 60% in one protocol, both above 10%. "
        "Volatility and liquidity are left open, as upstream did.",
        "max_single": 6000,
        "min_diversification": 2,
        "max_volatility": 10000,
        "min_liquidity": 3,
        "is_default": True,
    },
    {
        "name": "conservative",
        "description": "At most 60% in one protocol, volatility up to 50%, only the two deepest liquidity tiers.",
        "max_single": 6000,
        "min_diversification": 2,
        "max_volatility": 5000,
        "min_liquidity": 1,
        "is_default": False,
    },
    {
        "name": "balanced",
        "description": "At most 70% in one protocol, volatility up to 75%, liquidity tier 2 or deeper.",
        "max_single": 7000,
        "min_diversification": 2,
        "max_volatility": 7500,
        "min_liquidity": 2,
        "is_default": False,
    },
    {
        "name": "aggressive",
        "description": "Up to 90% in one protocol; no volatility or liquidity limit.",
        "max_single": 9000,
        "min_diversification": 1,
        "max_volatility": 10000,
        "min_liquidity": 3,
        "is_default": False,
    },
]


def add_presets(apps, schema_editor):
    Policy = apps.get_model("allocations", "Policy")
    for preset in PRESETS:
        Policy.objects.create(**preset)


def remove_presets(apps, schema_editor):
    apps.get_model("allocations", "Policy").objects.filter(name__in=[p["name"] for p in PRESETS]).delete()


class Migration(migrations.Migration):
    dependencies = [("allocations", "0001_initial")]
    operations = [migrations.RunPython(add_presets, remove_presets)]
