"""`pulumi-resource-kubevirt`: the resource provider plugin over core.ResourceKind (I/O side).

Served by `pulumi.provider.experimental` (an asyncio gRPC server). Requests are
translated by adapter.py (pure); the reconcilers, which block on libvirt and
Kubernetes, run off the event loop in one bounded thread pool per provider
process, sized from the engine's parallelism (`parallelism()`), so as many
resources progress at once as the engine schedules, not a fixed 4.

Per process (= per provider instance: the engine starts one plugin process per
default or explicit Provider): the configuration from Configure, the connection
caches (`core.Backends`, created on the first I/O call, never at import) and,
when the kubeconfig was given as content, a private 0600 file holding it, which
the KubeVirt client reads and which is removed at exit. Nothing here is ever
serialized into state.

Errors: a `ProviderError` (the core's error tree) ends the call with its message
and no traceback; progress messages go to the engine against the resource's URN.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc  # type: ignore[import-untyped]  # no stubs in the dev extras (types-grpcio)
import grpc.aio  # type: ignore[import-untyped]
from pulumi.provider.experimental import provider as api
from pulumi.provider.experimental.property_value import PropertyValue
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.runtime import proto
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import engine_pb2, engine_pb2_grpc, provider_pb2_grpc

from ..core import PLANNED_CHANGE, Backends, Reconciler, ResourceKind, begin
from ..errors import InvalidSpec, NotFound, ProviderError
from ..kinds import BRIDGE, DISK, INSTANCETYPE, MIGRATION, PREFERENCE, SNAPSHOT, SNAPSHOT_RESTORE, VIRTUAL_MACHINE
from ..models.common import dump
from ..waiting import Progress
from . import adapter
from .adapter import Urn
from .config import KUBECONFIG, PACKAGE, ProviderConfig, config_from_variables, is_content, parse_config
from .schema import plugin_schema_json
from .values import plain_map, property_map, secret_paths

T = TypeVar("T")

VERSION = "0.1.0"
MAX_WORKERS = 256
KINDS: dict[str, ResourceKind[Any]] = {
    f"{PACKAGE}:index:{kind.type_name.rsplit(':', 1)[-1]}": kind
    for kind in (
        VIRTUAL_MACHINE,
        DISK,
        BRIDGE,
        MIGRATION,
        INSTANCETYPE,
        PREFERENCE,
        SNAPSHOT,
        SNAPSHOT_RESTORE,
    )
}
IMPORTABLE = frozenset({VIRTUAL_MACHINE.type_name})
"""Kinds `pulumi import` reconstructs from an ID alone. A Migration is an event, not an object; a Disk
or a Bridge needs more than its name to be read (a source, an address): both are taken over by
declaring them with adopt=True instead."""


def parallelism(environ: Mapping[str, str] | None = None, parent_cmdline: list[str] | None = None) -> int:
    """How many steps the engine runs at once, hence how many blocking calls may overlap here.

    The engine does not send its `--parallel` to resource providers, so: PULUMI_PARALLEL when set;
    else the `--parallel/-p` of the CLI that started this plugin (our parent, /proc on Linux);
    else the CLI's own default, 4 per CPU.
    """
    env = os.environ if environ is None else environ
    value = env.get("PULUMI_PARALLEL", "")
    if value.isdigit() and int(value) > 0:
        return min(int(value), MAX_WORKERS)
    argv = _parent_cmdline() if parent_cmdline is None else parent_cmdline
    for i, arg in enumerate(argv):
        given: str | None = None
        if arg in ("--parallel", "-p") and i + 1 < len(argv):
            given = argv[i + 1]
        elif arg.startswith("--parallel="):
            given = arg.partition("=")[2]
        elif arg.startswith("-p") and arg[2:].isdigit():
            given = arg[2:]
        if given is not None and given.isdigit() and int(given) > 0:
            return min(int(given), MAX_WORKERS)
    return min(4 * (os.cpu_count() or 1), MAX_WORKERS)


def _parent_cmdline() -> list[str]:
    try:
        with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
            return [a.decode(errors="replace") for a in handle.read().split(b"\0") if a]
    except OSError:
        return []


class EngineLog:
    """Progress lines sent to the engine against a resource's URN (shown next to the resource)."""

    def __init__(self, address: str | None) -> None:
        self._address = address
        self._lock = threading.Lock()
        self._stub: engine_pb2_grpc.EngineStub | None = None

    def _engine(self) -> engine_pb2_grpc.EngineStub | None:
        with self._lock:
            if self._stub is None and self._address:
                self._stub = engine_pb2_grpc.EngineStub(grpc.insecure_channel(self._address))
            return self._stub

    def progress(self, urn: str, resource: str) -> Progress:
        def report(message: str) -> None:
            engine = self._engine()
            if engine is None:
                print(f"[{PACKAGE}] {resource}: {message}", file=sys.stderr, flush=True)
                return
            try:
                engine.Log(engine_pb2.LogRequest(severity=engine_pb2.INFO, message=message, urn=urn, ephemeral=True))
            except grpc.RpcError as err:  # the engine went away: progress is best effort
                print(f"[{PACKAGE}] {resource}: {message} (engine log failed: {err.code()})", file=sys.stderr)

        return report


class KubeconfigFiles:
    """Kubeconfig content as a private file the Kubernetes client can read; removed at exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dir: str | None = None
        self._paths: dict[str, str] = {}

    def path(self, content: str) -> str:
        with self._lock:
            if content not in self._paths:
                if self._dir is None:
                    self._dir = tempfile.mkdtemp(prefix="pkv-kubeconfig-")  # 0700
                    atexit.register(shutil.rmtree, self._dir, True)
                fd, path = tempfile.mkstemp(dir=self._dir, suffix=".yaml")  # 0600
                with os.fdopen(fd, "w") as handle:
                    handle.write(content)
                self._paths[content] = path
            return self._paths[content]


class KubevirtProvider(api.Provider):
    """The provider of one plugin process (one Provider instance of the program)."""

    def __init__(self, *, engine_address: str | None = None, workers: int | None = None) -> None:
        self._config = ProviderConfig()
        self._workers = workers or parallelism()
        self._pool: ThreadPoolExecutor | None = None
        self._backends: Backends | None = None
        self._kubeconfigs = KubeconfigFiles()
        self._log = EngineLog(engine_address)
        self._lock = threading.Lock()

    @property
    def workers(self) -> int:
        return self._workers

    # -- schema and configuration (no I/O) -------------------------------------------
    async def get_schema(self, request: api.GetSchemaRequest) -> api.GetSchemaResponse:
        return api.GetSchemaResponse(schema=plugin_schema_json())

    async def check_config(self, request: api.CheckRequest) -> api.CheckResponse:
        news = plain_map(request.new_inputs)
        _config, failures = parse_config(news)
        secrets = secret_paths(request.new_inputs)
        if isinstance(news.get(KUBECONFIG), str) and is_content(news[KUBECONFIG]):
            secrets.add(KUBECONFIG)
        return api.CheckResponse(
            inputs={k: v.with_secret(True) if k in secrets else v for k, v in request.new_inputs.items()},
            failures=[api.CheckFailure(f.property, f.reason) for f in failures],
        )

    async def configure(self, request: api.ConfigureRequest) -> api.ConfigureResponse:
        values: dict[str, Any] = dict(config_from_variables(request.variables))
        values.update(plain_map(request.args))
        config, failures = parse_config(values)
        if failures:
            raise InvalidSpec("; ".join(f.reason for f in failures), resource=f"provider {PACKAGE}")
        self._config = config
        return api.ConfigureResponse(accept_secrets=True, supports_preview=False)

    # -- check and diff (no I/O) ---------------------------------------------------------
    async def check(self, request: api.CheckRequest) -> api.CheckResponse:
        kind = _kind(request.type)
        urn = Urn.parse(request.urn)
        inputs, failures = adapter.check(
            kind, plain_map(request.old_inputs), plain_map(request.new_inputs), config=self._config, urn=urn
        )
        secrets = adapter.secret_inputs(kind, secret_paths(request.new_inputs))
        return api.CheckResponse(
            inputs=property_map(inputs, secrets=secrets),
            failures=[api.CheckFailure(f.property, f.reason) for f in failures],
        )

    async def diff(self, request: api.DiffRequest) -> api.DiffResponse:
        kind = _kind(request.type)
        result = adapter.diff(kind, plain_map(request.old_state), plain_map(request.new_inputs))
        kinds = {
            ("add", False): api.PropertyDiffKind.ADD,
            ("add", True): api.PropertyDiffKind.ADD_REPLACE,
            ("delete", False): api.PropertyDiffKind.DELETE,
            ("delete", True): api.PropertyDiffKind.DELETE_REPLACE,
            ("update", False): api.PropertyDiffKind.UPDATE,
            ("update", True): api.PropertyDiffKind.UPDATE_REPLACE,
        }
        return api.DiffResponse(
            changes=result.changes,
            replaces=result.replaces,
            stables=result.stables,
            delete_before_replace=result.delete_before_replace,
            diffs=sorted({path.split(".", 1)[0].split("[", 1)[0] for path in result.detailed}),
            detailed_diff={
                path: api.PropertyDiff(kinds[(c.kind, c.replace)], input_diff=False)
                for path, c in result.detailed.items()
            },
        )

    # -- I/O -------------------------------------------------------------------------------
    async def create(self, request: api.CreateRequest) -> api.CreateResponse:
        kind = _kind(request.type)
        urn = Urn.parse(request.urn)
        props = plain_map(request.properties)
        args = kind.parse(props, resource=urn.name)
        bounded = kind.parse(adapter.with_timeout(dump(args), "create", request.timeout), resource=args.name)
        progress = self._log.progress(request.urn, args.name)
        reconciler = self._reconciler(kind, args)
        outs = await self._run(
            lambda: reconciler.create(begin("create", self._effective(bounded), owner=urn.owner, progress=progress))
        )
        doc = dump(args)
        state = adapter.state(doc, outs, props.get(PLANNED_CHANGE))
        secrets = adapter.secret_inputs(kind, secret_paths(request.properties))
        return api.CreateResponse(
            resource_id=adapter.resource_id(doc["target"], args.name) if "target" in doc else args.name,
            properties=property_map(state, secrets=secrets),
        )

    async def update(self, request: api.UpdateRequest) -> api.UpdateResponse:
        kind = _kind(request.type)
        urn = Urn.parse(request.urn)
        olds, news = plain_map(request.olds), plain_map(request.news)
        old = kind.parse(olds, resource=urn.name)
        new = kind.parse(news, resource=urn.name)
        plan = kind.plan(olds, dump(new))
        bounded = kind.parse(adapter.with_timeout(dump(new), "update", request.timeout), resource=new.name)
        progress = self._log.progress(request.urn, new.name)
        reconciler = self._reconciler(kind, new)
        outs = await self._run(
            lambda: reconciler.update(
                begin("update", self._effective(bounded), olds, owner=urn.owner, progress=progress),
                self._effective(old),
                plan,
            )
        )
        # What the update did: its plan read the recorded outputs, which check's summary could not.
        state = adapter.state(dump(new), outs, plan.summary())
        secrets = adapter.secret_inputs(kind, secret_paths(request.news) | secret_paths(request.olds))
        return api.UpdateResponse(properties=property_map(state, secrets=secrets))

    async def delete(self, request: api.DeleteRequest) -> None:
        kind = _kind(request.type)
        urn = Urn.parse(request.urn)
        props = plain_map(request.properties)
        args = kind.parse(adapter.with_timeout(props, "delete", request.timeout), resource=urn.name)
        progress = self._log.progress(request.urn, args.name)
        reconciler = self._reconciler(kind, args)
        await self._run(
            lambda: reconciler.delete(begin("delete", self._effective(args), props, owner=urn.owner, progress=progress))
        )

    async def read(self, request: api.ReadRequest) -> api.ReadResponse:
        kind = _kind(request.type)
        urn = Urn.parse(request.urn)
        props = plain_map(request.properties)
        if not props:
            return await self._import(kind, urn, request)
        args = kind.parse(props, resource=urn.name)
        found = await self._observe(kind, args, props, urn, request.urn)
        if found is None:
            return api.ReadResponse(resource_id=None)
        observed, outs = found
        secrets = adapter.secret_inputs(kind, secret_paths(request.properties) | secret_paths(request.inputs))
        return api.ReadResponse(
            resource_id=request.resource_id,
            properties=property_map(adapter.state(observed, outs, props.get(PLANNED_CHANGE)), secrets=secrets),
            inputs=property_map(observed, secrets=secrets),
        )

    async def _import(self, kind: ResourceKind[Any], urn: Urn, request: api.ReadRequest) -> api.ReadResponse:
        """`pulumi import` and `Resource.get`: a Read with only the ID (adapter.import_attempts).

        Reads only: the object stays byte-for-byte as it was. An object this resource owns is read
        as declared; an unmarked one (made with virsh, kubectl, ...) is read with adopt=True, which
        the imported inputs carry, so the generated code declares the adoption and the first real
        update marks the object ours; one another stack manages is a Conflict naming that stack.
        """
        if kind.type_name not in IMPORTABLE:
            label = adapter.kind_label(kind)
            raise InvalidSpec(
                f"a {label} cannot be imported (a VirtualMachine can): declare it with adopt=True to take "
                f"an existing {label} over",
                resource=request.resource_id,
            )
        target, name = adapter.parse_id(request.resource_id, config=self._config)
        declared = {"name": name, "target": target}
        found = None
        for props in adapter.import_attempts(declared):
            args = kind.parse(props, resource=urn.name)
            found = await self._observe(kind, args, props, urn, request.urn)
            if found is not None:
                break
        if found is None:
            raise NotFound(
                f"nothing to import at {request.resource_id}: no {adapter.kind_label(kind)} of that name there",
                resource=urn.name,
            )
        observed, outs = found
        if observed.get("adopt"):
            self._log.progress(request.urn, name)(
                f"imported {name}, made outside Pulumi, unchanged: its inputs say adopt=True, and its first "
                f"update marks it as owned by {urn.owner}"
            )
        inputs = adapter.imported_inputs(observed, dump(kind.parse(declared, resource=urn.name)))
        secrets = adapter.secret_inputs(kind, set())
        return api.ReadResponse(
            resource_id=request.resource_id,
            properties=property_map(adapter.state({**dump(args), **observed}, outs, None), secrets=secrets),
            inputs=property_map(inputs, secrets=secrets),
        )

    async def _observe(
        self, kind: ResourceKind[Any], args: Any, props: Mapping[str, Any], urn: Urn, request_urn: str
    ) -> tuple[dict[str, Any], Mapping[str, Any]] | None:
        """The reconciler's read of `args` (the object as model data, and the outputs), or None when gone."""
        progress = self._log.progress(request_urn, args.name)
        reconciler = self._reconciler(kind, args)
        found = await self._run(
            lambda: reconciler.read(begin("read", self._effective(args), props, owner=urn.owner, progress=progress))
        )
        if found is None:
            return None
        observed, outs = found
        if "target" in observed:
            # The reconciler read with the effective target (a private kubeconfig file, maybe):
            # what the state records is the target as declared.
            observed = {**observed, "target": dump(args)["target"]}
        return observed, outs

    # -- helpers -------------------------------------------------------------------------
    async def _run(self, call: Callable[[], T]) -> T:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="pkv")
            pool = self._pool
        return await asyncio.get_running_loop().run_in_executor(pool, call)

    def _reconciler(self, kind: ResourceKind[Any], args: Any) -> Reconciler[Any]:
        with self._lock:
            if self._backends is None:
                self._backends = Backends()
            backends = self._backends
        assert kind.reconciler is not None
        return kind.reconciler(backends, args.target.kind)

    def _effective(self, args: Any) -> Any:
        """`args` with the provider's kubeconfig where the resource names none (content as a private file)."""
        target = getattr(args, "target", None)
        if target is None or target.kind != "kubevirt" or target.in_cluster or target.kubeconfig is not None:
            return args
        config = self._config
        kubeconfig = config.kubeconfig_path
        if config.kubeconfig_content is not None:
            kubeconfig = self._kubeconfigs.path(config.kubeconfig_content)
        if kubeconfig is None:
            return args
        update: dict[str, Any] = {"kubeconfig": kubeconfig}
        if target.context is None and config.context is not None:
            update["context"] = config.context
        return args.model_copy(update={"target": target.model_copy(update=update)})


def _kind(token: str) -> ResourceKind[Any]:
    kind = KINDS.get(token)
    if kind is None:
        raise InvalidSpec(f"unknown resource type {token!r}: this provider serves " + ", ".join(sorted(KINDS)))
    return kind


# -- the gRPC server -------------------------------------------------------------------
_Handler = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def _guarded(name: str) -> Any:
    """The SDK servicer's RPC `name`, with the core's errors ending the call cleanly (message, no traceback).

    Typed Any: it stands for eight servicer methods whose request types differ.
    """

    async def rpc(self: Servicer, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        handler: _Handler = getattr(super(Servicer, self), name)
        try:
            return await handler(request, context)
        except ProviderError as err:
            code = grpc.StatusCode.INVALID_ARGUMENT if isinstance(err, InvalidSpec) else grpc.StatusCode.UNKNOWN
            await context.abort(code, str(err))

    rpc.__name__ = rpc.__qualname__ = name
    return rpc


class Servicer(ProviderServicer):
    """The SDK's servicer, with the core's errors ending a call cleanly (message, no traceback)
    and DiffConfig answered here (the SDK's passes a bool where the protocol wants DIFF_SOME/NONE)."""

    CheckConfig = _guarded("CheckConfig")
    Configure = _guarded("Configure")
    Check = _guarded("Check")
    Diff = _guarded("Diff")
    Create = _guarded("Create")
    Read = _guarded("Read")
    Update = _guarded("Update")
    Delete = _guarded("Delete")

    async def DiffConfig(self, request: Any, context: Any) -> Any:
        olds = plain_map(PropertyValue.unmarshal_map(request.olds))
        news = plain_map(PropertyValue.unmarshal_map(request.news))
        changed = sorted(k for k in set(olds) | set(news) if olds.get(k) != news.get(k))
        return proto.DiffResponse(
            changes=proto.DiffResponse.DIFF_SOME if changed else proto.DiffResponse.DIFF_NONE, diffs=changed
        )


def main(argv: list[str] | None = None) -> None:
    """Entry point of `pulumi-resource-kubevirt ENGINE_ADDRESS [flags the engine passes]`."""
    args = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog=f"pulumi-resource-{PACKAGE}", description="KubeVirt/libvirt provider plugin")
    parser.add_argument("engine", nargs="?", help="Pulumi engine address")
    known, _unknown = parser.parse_known_args(args)  # the engine may add --logflow, -v=N, --tracing ...
    provider = KubevirtProvider(engine_address=known.engine)

    async def serve() -> None:
        # The engine ends a plugin with SIGINT (then SIGKILL): stop the server inside the loop,
        # so nothing is left to grpc's finalizer after the loop closed (a traceback on stderr).
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
        servicer = Servicer(args, VERSION, provider, engine_address=known.engine or "")
        provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
        port = server.add_insecure_port(address="127.0.0.1:0")
        await server.start()
        sys.stdout.write(f"{port}\n")
        sys.stdout.flush()
        terminated = asyncio.ensure_future(server.wait_for_termination())
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait({terminated, stopped}, return_when=asyncio.FIRST_COMPLETED)
        await server.stop(grace=1.0)
        for task in (terminated, stopped):
            task.cancel()

    asyncio.run(serve())
