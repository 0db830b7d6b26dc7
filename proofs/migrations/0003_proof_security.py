from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("proofs", "0002_verification_on_starknet")]

    operations = [
        migrations.RenameField("proofjob", "security_bits", "conjectured_security_bits"),
        migrations.AddField(
            model_name="proofjob",
            name="proven_security_bits",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
    ]
