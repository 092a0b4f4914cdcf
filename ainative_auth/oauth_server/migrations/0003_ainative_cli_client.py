"""The public client ``ainative-cli`` (the ``ainative-auth login`` command), out of the box.

Device grant only, no redirect URI, no secret in use (a public client). The scopes it may
ask for are the setting ``OAUTH_SERVER_CLI_SCOPES`` (read when it asks), not this row's.
"""

from django.db import migrations

CLIENT_ID = "ainative-cli"
DEVICE_CODE = "urn:ietf:params:oauth:grant-type:device_code"


def create_client(apps, schema_editor):
    Client = apps.get_model("allauth_idp_oidc", "Client")
    Client.objects.get_or_create(id=CLIENT_ID, defaults={
        "name": "AINative CLI",
        "type": "public",
        "grant_types": "\n".join([DEVICE_CODE, "refresh_token"]),
        "scopes": "",
        "redirect_uris": "",
        "response_types": "",
        "skip_consent": False,
    })


def remove_client(apps, schema_editor):
    apps.get_model("allauth_idp_oidc", "Client").objects.filter(id=CLIENT_ID).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("ainative_oauth_server", "0002_device_authorization"),
        ("allauth_idp_oidc", "0003_client_allow_uri_wildcards"),
    ]

    operations = [migrations.RunPython(create_client, remove_client)]
