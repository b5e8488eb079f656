"""Ownership-checked writes: create, adopt, update and delete only what this resource owns.

I/O, on top of `client.Api`. Every decision compares the owner marker the
object carries (`parse.parse_owner`, written by render.py) with the resource's
owner:

- absent            -> create (`Api.create`: never overwrites; an object someone else
                       creates meanwhile makes it fail, and is judged again); objects
                       created by a POST (older releases) get their field ownership
                       turned into server-side apply's;
- ours              -> server-side apply onto exactly that object (its UID), so a
                       rerun of an interrupted create adopts what it made and finishes;
- someone else's    -> Conflict naming the object, which is left byte-for-byte
                       as it was, unless the resource says `adopt=True` (then the
                       apply stamps our marker onto it);
- ours, terminating -> (deletionTimestamp set: a roll back or destroy that did not
                       see its finalizers through) waited for until it is gone (bounded),
                       then created anew: never applied onto an object on its way out;
- delete            -> only ours, by UID; a foreign object is left and reported.

A failed create's roll back (`roll_back`, `wait_or_roll_back`) deletes what the
create made and waits, within its bound, until each deleted object is gone
(a VM, a DataVolume, a VirtualMachineSnapshot linger while their controllers'
finalizers run), so an immediate retry of the same name creates instead of
colliding with a terminating object; whatever is still terminating when the
bound runs out is named in the progress, and the create's own error goes on.

Every write reports `"<verb> <Kind> <namespace>/<name>"` through `progress`
(verbs: created, updated, adopted, deleted, left). Those lines are the named
steps the kube tier's fault-injection tests interrupt.

A write refused because the object changed under us (409, or the UID
precondition) is judged again from a fresh read, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, TypeVar

from ..errors import Conflict, InvalidSpec, NotFound, ProviderError, WaitTimeout
from ..ownership import Owner, readable
from ..waiting import Deadline, Progress, Wait, wait
from .client import Api, Gvr
from .judges import deleting, deletion_note, gone_by_uid
from .parse import owned, parse_owner
from .watching import Watch

T = TypeVar("T")
S = TypeVar("S")

_ROLLBACK = 10.0
"""Seconds a failed create may spend removing what it made and waiting for it to be gone (the create's own
deadline may be spent)."""

_ATTEMPTS = 8
"""Reads and writes of one object before giving up on an object that keeps changing."""

Verb = Literal["created", "updated", "adopted"]
Removal = Literal["deleted", "absent", "foreign"]


@dataclass(frozen=True)
class Written:
    """The object after an ownership-checked apply, and what the apply did."""

    obj: dict[str, Any] | None
    verb: Verb


def _uid(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("uid") or "")


def foreign(gvr: Gvr, name: str, namespace: str | None, found: dict[str, Any], owner: Owner, resource: str) -> Conflict:
    """The Conflict for an object that is not ours: what it is, whose it is, what to do."""
    marker = parse_owner(found)
    whose = f"it belongs to {marker}" if marker is not None else "it was not created by pulumi-kubevirt"
    return Conflict(
        f"{gvr.describe(name, namespace)} already exists and {whose}, not to {owner}; it was left untouched. "
        "Pick another name, remove that object, or set adopt=True to take it over",
        resource=resource,
        field="name",
    )


def refuse_foreign(api: Api, bodies: list[tuple[Gvr, dict[str, Any]]], *, owner: Owner, adopt: bool = False) -> None:
    """Conflict for the first object of `bodies` that exists and is someone else's, before anything is
    written (a create that would collide half-way writes nothing). `apply_owned` checks again at each write."""
    if adopt:
        return
    for gvr, body in bodies:
        name, namespace = body["metadata"]["name"], body["metadata"].get("namespace")
        current = api.peek(gvr, name, namespace)
        if current is not None and not owned(current, owner):
            current = api.get(gvr, name, namespace)  # a refusal is only ever made on a fresh read
        if current is not None and not owned(current, owner):
            raise foreign(gvr, name, namespace, current, owner, api.resource)


def fetch_owned(
    api: Api, gvr: Gvr, name: str, namespace: str | None, *, owner: Owner, adopt: bool = False
) -> dict[str, Any] | None:
    """The object when it exists and is ours (or, with `adopt`, unmarked); None when it is absent or
    someone else's. With `adopt`, an object another owner marked is a Conflict naming that owner
    (`ownership.readable`). Read-only."""
    obj = api.get(gvr, name, namespace)
    if obj is None:
        return None
    mine = readable(parse_owner(obj), owner, adopt=adopt, what=gvr.describe(name, namespace), resource=api.resource)
    return obj if mine else None


def owned_or_left(
    api: Api, gvr: Gvr, name: str, namespace: str | None, *, owner: Owner, progress: Progress
) -> dict[str, Any] | None:
    """The object a delete may act on: it when it exists and is ours; None when it is absent, or
    someone else's (left untouched and reported)."""
    obj = api.get(gvr, name, namespace)
    if obj is not None and not owned(obj, owner):
        progress(f"left {gvr.describe(name, namespace)}: it is not owned by {owner}")
        return None
    return obj


def apply_owned(
    api: Api,
    gvr: Gvr,
    body: dict[str, Any],
    *,
    owner: Owner,
    progress: Progress,
    adopt: bool = False,
    must_exist: bool = False,
    deadline: Deadline | None = None,
) -> Written:
    """Create `body`, or apply it onto the object of that name when it is ours (or `adopt`).

    `must_exist`: an absent object is NotFound instead of being created (and an object being deleted is
    written as it is). Otherwise an object of ours being deleted (deletionTimestamp set) is waited for
    until it is gone, within `deadline` (default: the api's retry budget, which `_open` draws from the
    call's deadline), and then created anew.
    """
    name: str = body["metadata"]["name"]
    namespace: str | None = body["metadata"].get("namespace")
    what = gvr.describe(name, namespace)
    for attempt in range(_ATTEMPTS):
        # The first look may be the kind's shared cache (`Api.peek`, possibly stale): a create never
        # overwrites and an apply is bound to the UID, so a stale look costs one more round, never a
        # wrong write; a refusal (NotFound, foreign) is only ever made on a fresh read.
        peeked = attempt == 0
        current = api.peek(gvr, name, namespace) if peeked else api.get(gvr, name, namespace)
        if current is None:
            if must_exist and peeked:
                continue
            if must_exist:
                raise NotFound(f"{what} is gone; run `pulumi refresh`", resource=api.resource)
            try:
                created = api.create(gvr, body)
            except Conflict:
                continue  # it exists now (someone else's, or our own retried POST): judge it
            progress(f"created {what}")
            _own_fields(api, gvr, created)
            return Written(created, "created")
        mine = owned(current, owner)
        if not mine and not adopt:
            if peeked:
                continue
            raise foreign(gvr, name, namespace, current, owner, api.resource)
        uid = _uid(current)
        if deleting(current) and not must_exist:
            if not peeked:
                _wait_terminated(api, gvr, name, namespace, uid, deadline or Deadline(api.budget), progress)
            continue  # judged again on a fresh read: absent now, so created
        verb: Verb = "updated" if mine else "adopted"
        if mine:
            _own_fields(api, gvr, current)
        written = _conditional(api, gvr, name, namespace, uid, partial(api.apply, gvr, body, uid=uid))
        if written is _CHANGED:
            continue
        progress(f"{verb} {what}")
        return Written(written if isinstance(written, dict) else None, verb)
    raise Conflict(f"{what} kept changing while it was being written; run `pulumi up` again", resource=api.resource)


def _wait_terminated(
    api: Api, gvr: Gvr, name: str, namespace: str | None, uid: str, deadline: Deadline, progress: Progress
) -> None:
    """Wait until the object with `uid`, ours and being deleted, is gone; WaitTimeout naming it otherwise."""
    what = gvr.describe(name, namespace)
    progress(f"{what} of this resource is being deleted: waiting for it to be gone before creating it anew")
    wait(
        Watch(api, gvr, name, namespace)
        .until(gone_by_uid(uid), f"the earlier {what}, being deleted, to be gone", deadline, progress)
        .noting(deletion_note)
    )


def _own_fields(api: Api, gvr: Gvr, obj: dict[str, Any]) -> None:
    """`api.own_fields`, read again when the object changed under the guarded patch (bounded)."""
    name, namespace = obj["metadata"]["name"], obj["metadata"].get("namespace")
    current: dict[str, Any] | None = obj
    for _ in range(_ATTEMPTS):
        if current is None or _uid(current) != _uid(obj):
            return  # gone or replaced: the caller's conditional apply finds out
        try:
            api.own_fields(gvr, current)
            return
        except (Conflict, InvalidSpec):
            current = api.get(gvr, name, namespace)


def delete_owned(
    api: Api,
    gvr: Gvr,
    name: str,
    namespace: str | None,
    *,
    owner: Owner,
    progress: Progress,
    adopt: bool = False,
) -> Removal:
    """Delete the object if it is ours (or, with `adopt`, unmarked: imported and not updated since):
    "deleted"; "absent" when gone; "foreign" (left, reported) otherwise."""
    return _delete(api, (gvr, name, namespace), owner, progress, adopt)[0]


def _delete(
    api: Api, where: tuple[Gvr, str, str | None], owner: Owner, progress: Progress, adopt: bool
) -> tuple[Removal, str]:
    """`delete_owned` of the object `where` (kind, name, namespace), and the UID of the object it deleted
    ("" unless "deleted")."""
    gvr, name, namespace = where
    what = gvr.describe(name, namespace)
    for _ in range(_ATTEMPTS):
        current = api.get(gvr, name, namespace)
        if current is None:
            return "absent", ""
        if not owned(current, owner) and not (adopt and parse_owner(current) is None):
            progress(f"left {what}: it is not owned by {owner}")
            return "foreign", ""
        uid = _uid(current)
        deleted = _conditional(api, gvr, name, namespace, uid, partial(api.delete, gvr, name, namespace, uid=uid))
        if deleted is _CHANGED:
            continue
        if deleted:
            progress(f"deleted {what}")
            return "deleted", uid
        return "absent", ""
    raise Conflict(f"{what} kept changing while it was being deleted; run the command again", resource=api.resource)


class _Changed:
    """Marker: the write was refused because the object is not the one we judged."""


_CHANGED = _Changed()


def _conditional(
    api: Api, gvr: Gvr, name: str, namespace: str | None, uid: str, write: Callable[[], T]
) -> T | _Changed:
    """`write()`, or _CHANGED when the apiserver refused it because the object changed since it was read.

    A UID precondition fails as 409 (delete; apply onto an object that is gone)
    or as 422 "field is immutable" (apply onto another object of that name); a
    422 is only ours to retry when the object under that name is not the one we
    wrote to, otherwise it is a genuine invalid spec.
    """
    try:
        return write()
    except Conflict:
        return _CHANGED
    except InvalidSpec:
        now = api.get(gvr, name, namespace)
        if now is not None and _uid(now) != uid:
            return _CHANGED
        raise


def roll_back(
    api: Api,
    made: list[tuple[Gvr, str, str | None]],
    *,
    owner: Owner,
    progress: Progress,
    deadline: Deadline | None = None,
) -> None:
    """Best effort, within `deadline` (default: the api's retry budget, which callers set to their
    roll back bound): delete what this create made, newest first, then wait until each deleted object
    is gone (its finalizers done), so that a retry of the same name creates rather than meeting it
    terminating. Never raises a ProviderError: the caller's own error is what goes on.

    What cannot be removed now (the apiserver is away) stays, marked ours: the next `pulumi up`
    adopts it, `destroy` removes it. What is still terminating when the bound runs out is reported
    by name: the next `pulumi up` waits for it to be gone before creating it again (`apply_owned`)."""
    bound = deadline or Deadline(api.budget)
    deleted: list[tuple[Gvr, str, str | None, str]] = []
    for where in reversed(made):
        gvr, name, namespace = where
        try:
            removal, uid = _delete(api.within(bound.left()), where, owner, progress, False)
        except ProviderError as err:
            progress(
                f"could not remove {gvr.describe(name, namespace)} while rolling back ({err.message}); "
                "it is marked as this resource's: the next `pulumi up` adopts it and `pulumi destroy` removes it"
            )
            continue
        if removal == "deleted":
            deleted.append((gvr, name, namespace, uid))
    for gvr, name, namespace, uid in deleted:
        _see_gone(api.within(bound.left()), gvr, name, namespace, uid, bound, progress)


def _see_gone(
    api: Api, gvr: Gvr, name: str, namespace: str | None, uid: str, deadline: Deadline, progress: Progress
) -> None:
    """Wait until the object a roll back deleted is gone; report it by name when it is not (never raises a
    ProviderError: the create's own error is the one that goes on)."""
    what = gvr.describe(name, namespace)
    last: dict[str, Any] | None = None  # what the watch saw last, for the report
    judge = gone_by_uid(uid)

    def watched(obj: dict[str, Any] | None) -> bool | None:
        nonlocal last
        last = obj
        return judge(obj)

    try:
        wait(
            Watch(api, gvr, name, namespace)
            .until(watched, f"{what} to be gone", deadline, progress)
            .noting(deletion_note)
        )
    except WaitTimeout:
        held = deletion_note(last) or "still there"
        progress(
            f"{what} is still terminating ({held}) after {deadline.seconds:g}s of rolling back; "
            "the next `pulumi up` waits for it to be gone before creating it again"
        )
    except ProviderError as err:
        progress(
            f"could not see {what} go while rolling back ({err.message}); "
            "the next `pulumi up` waits for it to be gone before creating it again"
        )


def wait_or_roll_back(
    api: Api,
    spec: Wait[S, T],
    made: list[tuple[Gvr, str, str | None]],
    *,
    owner: Owner,
    progress: Progress,
) -> T:
    """The verdict of the wait a create ends with; when the wait fails, runs out or is interrupted,
    what the create `made` is rolled back and waited for until gone (`roll_back`, bounded by `_ROLLBACK`)
    before the error goes on."""
    try:
        return wait(spec)
    except BaseException:
        roll_back(api.within(_ROLLBACK), made, owner=owner, progress=progress, deadline=Deadline(_ROLLBACK))
        raise
