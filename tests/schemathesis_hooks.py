"""schemathesis extension for tests/test_service_api_schema.py: a package upload body
(`application/zip`) is sent as raw bytes, like any binary body."""

import schemathesis

schemathesis.serializer.alias("application/zip", "application/octet-stream")
