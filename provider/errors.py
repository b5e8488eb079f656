"""The provider's one error tree.

Every backend translates its own exceptions (libvirt.libvirtError,
kubernetes ApiException, OSError) into these with one translator each, always
`raise ... from err`. Only `NotFound` ever means "gone": a connection failure is
`BackendUnavailable`, never a missing resource.
"""

from __future__ import annotations


class ProviderError(Exception):
    """Base of every error the provider raises on purpose."""

    def __init__(self, message: str, *, resource: str | None = None, field: str | None = None) -> None:
        self.resource = resource
        self.field = field
        prefix = ""
        if resource:
            prefix += f"{resource}: "
        if field:
            prefix += f"{field}: "
        super().__init__(prefix + message)
        self.message = message


class InvalidSpec(ProviderError):
    """The user's input is wrong; the message names the field and what to do."""


class NotFound(ProviderError):
    """The backend says, authoritatively, that the object does not exist."""


class Conflict(ProviderError):
    """The object exists but is not ours, or was changed concurrently."""


class BackendUnavailable(ProviderError):
    """The hypervisor or cluster could not be reached or refused the call."""


class WaitTimeout(ProviderError):
    """A bounded wait ran out before the object reached the wanted state."""


class OperationFailed(ProviderError):
    """The backend reported a failure (import failed, migration failed, ...)."""


class NotAuthorized(OperationFailed):
    """The backend refused the credentials (not authorized) or the permission (forbidden): the message
    says which and what to renew or grant. Retrying changes nothing."""
