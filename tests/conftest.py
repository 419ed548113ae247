"""Session-wide hygiene: no real cloud credential or endpoint reaches any test."""

from __future__ import annotations

import os

from guardlib.emulators import REAL_CLOUD_VARIABLES

for _key in REAL_CLOUD_VARIABLES:
    os.environ.pop(_key, None)
# never read a developer's ~/.aws, ~/.azure or gcloud configuration by accident
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
os.environ["CLOUDSDK_CONFIG"] = os.devnull
os.environ["NO_GCE_CHECK"] = "true"  # google-auth compares lowercase
