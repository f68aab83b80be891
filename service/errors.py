"""Domain errors: what a service refuses, and why. They carry no HTTP status; the API's one
exception handler (`service/api/errors.py`) maps each kind to its status code. They pickle
(one message argument), so a refusal inside the line process reaches the API unchanged."""

from __future__ import annotations


class DomainError(Exception):
    """Base of every refusal a caller can act on; the message says why."""


class InvalidInput(DomainError):
    """The request itself is inconsistent (e.g. a time range that ends before it starts)."""


class NotFound(DomainError):
    """The thing asked for does not exist (a result, a shadow report)."""


class UnknownVersion(NotFound):
    """No model version with this name."""


class ImplausibleThresholds(InvalidInput):
    """Thresholds outside what the model's scores make plausible (send `force` to insist)."""


class PackageTooBig(DomainError):
    """The upload, or what its zip inflates to, is over the configured limits."""


class VersionConflict(DomainError):
    """The version exists already."""


class InvalidPackage(DomainError):
    """The model package failed validation."""


class NoActiveModel(DomainError):
    """The action needs an active model (or an earlier one to roll back to)."""


class CameraRefused(DomainError):
    """The camera cannot do this (e.g. no software trigger, or trigger mode off)."""


class CameraUnavailable(DomainError):
    """The camera is faulted or disconnected."""


class LineUnavailable(DomainError):
    """The line process is down, starting or not answering: the command was not carried out."""
