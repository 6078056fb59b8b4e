"""API keys that held every scope before ``webhooks:write`` existed get it too."""

from django.db import migrations

FORMER_FULL = {"events:write", "subscribers:write", "workflows:write", "read"}


def grant(apps, schema_editor):
    ApiKey = apps.get_model("notifications", "ApiKey")
    for key in ApiKey.objects.all():
        if FORMER_FULL <= set(key.scopes) and "webhooks:write" not in key.scopes:
            key.scopes = [*key.scopes, "webhooks:write"]
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial"), ("notifications", "0004_event_feed_indexes")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
