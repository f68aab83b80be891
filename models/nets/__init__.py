"""Torch network definitions (training only; never imported by the service)."""
