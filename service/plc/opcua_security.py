"""OPC UA security: the self-signed application certificate, users mapped to the API keys'
roles, and which role may do what.

Users are the API keys: user name = the key's `name`, password = the key. Anonymous sessions
exist only on a loopback server; they act as the local engineer when no keys are configured (as
REST does) and as a `plc` client otherwise. Methods check the caller's role themselves: the
caller of the request being served is kept in a context variable set by the permission ruleset
(asyncua hands method callbacks no session).
"""

from __future__ import annotations

import contextvars
import socket
from dataclasses import dataclass
from pathlib import Path

from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import PermissionRuleset, User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from gaikan.service.auth import LOCAL, Authenticator, Principal
from gaikan.service.settings import Role

APPLICATION_URI = "urn:gaikan:vision-system"


@dataclass
class GaikanUser(User):
    principal: Principal = LOCAL


# The caller of the OPC UA request being served (per asyncio task: one per client connection).
current_caller: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("opcua_caller", default=None)


class ApiKeyUsers:
    """asyncua user manager: user name and password checked against the API keys."""

    def __init__(self, authenticator: Authenticator, *, allow_anonymous: bool) -> None:
        self._authenticator = authenticator
        self._allow_anonymous = allow_anonymous

    def get_user(self, iserver: object, username: str | None = None, password: str | bytes | None = None, certificate: object = None) -> User | None:
        if username is None and password is None:
            if not self._allow_anonymous:
                return None
            principal = LOCAL if not self._authenticator.enabled else Principal(name="anonymous", role=Role.PLC)
            return GaikanUser(role=UserRole.User, name=principal.name, principal=principal)
        if not self._authenticator.enabled:
            return None  # no keys configured: there are no users to log in as
        key = password.decode() if isinstance(password, bytes) else (password or "")
        principal = self._authenticator.identify(key)
        if principal is None or principal.name != username:
            return None
        return GaikanUser(role=UserRole.User, name=principal.name, principal=principal)


_WRITERS = {Role.PLC, Role.ENGINEER}
_EVERYONE = {Role.OPERATOR, Role.PLC, Role.ENGINEER}
_WRITE = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
_ALLOWED = {
    ua.NodeId(identifier)
    for identifier in (
        ua.ObjectIds.CreateSessionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSessionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ReadRequest_Encoding_DefaultBinary,
        ua.ObjectIds.BrowseRequest_Encoding_DefaultBinary,
        ua.ObjectIds.BrowseNextRequest_Encoding_DefaultBinary,
        ua.ObjectIds.GetEndpointsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.FindServersRequest_Encoding_DefaultBinary,
        ua.ObjectIds.TranslateBrowsePathsToNodeIdsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CreateSubscriptionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ModifySubscriptionRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteSubscriptionsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.TransferSubscriptionsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CreateMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.ModifyMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteMonitoredItemsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.PublishRequest_Encoding_DefaultBinary,
        ua.ObjectIds.RepublishRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSecureChannelRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CallRequest_Encoding_DefaultBinary,  # each method checks the caller's role
        ua.ObjectIds.SetMonitoringModeRequest_Encoding_DefaultBinary,
        ua.ObjectIds.SetPublishingModeRequest_Encoding_DefaultBinary,
        ua.ObjectIds.RegisterNodesRequest_Encoding_DefaultBinary,
        ua.ObjectIds.UnregisterNodesRequest_Encoding_DefaultBinary,
    )
}


class RoleRules(PermissionRuleset):
    """Every role reads, browses and subscribes; only plc and engineer write (the AckSeq variable
    is the only writable node). Nobody changes the address space."""

    def check_validity(self, user: User | None, action_type_id: ua.NodeId, body: object) -> bool:
        principal = user.principal if isinstance(user, GaikanUser) else None
        current_caller.set(principal)
        if principal is None:
            return False
        if action_type_id == _WRITE:
            return principal.role in _WRITERS
        return action_type_id in _ALLOWED


def caller_may(*roles: Role) -> Principal | None:
    """The current caller if it holds one of `roles` (engineers always may), else None."""
    caller = current_caller.get()
    if caller is None or caller.role not in {*roles, Role.ENGINEER}:
        return None
    return caller


async def ensure_certificate(pki_dir: Path, host: str) -> tuple[Path, Path]:
    """The server's application certificate (DER) and private key (PEM), generated on first start
    (self-signed, RSA 2048, one year; regenerated when missing, expired or for another host)."""
    pki_dir.mkdir(parents=True, exist_ok=True)
    cert, key = pki_dir / "server-certificate.der", pki_dir / "server-private-key.pem"
    host_name = socket.gethostname() if host in ("0.0.0.0", "::", "") else host
    await setup_self_signed_certificate(
        key,
        cert,
        APPLICATION_URI,
        host_name,
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": "Gaikan vision system", "organizationName": "Gaikan"},
    )
    key.chmod(0o600)
    return cert, key
