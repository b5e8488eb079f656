"""Ownership on a real kube-apiserver: the provider never takes over, changes or deletes what it does not own.

Each foreign object is made by another client (no owner marker), left to settle
(the test double writes its status), snapshotted whole (resourceVersion and
managedFields included), and compared after the provider ran: byte-for-byte.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest

from pulumi_kubevirt.provider.errors import Conflict
from pulumi_kubevirt.provider.kubevirt import client as kclient
from pulumi_kubevirt.provider.kubevirt.owned import apply_owned
from pulumi_kubevirt.provider.kubevirt.render import OWNER_RESOURCE, OWNER_STACK
from pulumi_kubevirt.provider.models import KubevirtTarget
from pulumi_kubevirt.provider.ownership import OWNER, Owner
from pulumi_kubevirt.provider.resources import BridgeProvider, DiskProvider, MigrationProvider, VirtualMachineProvider
from tests.harness.kube_fixtures import KubeCluster

from ..libvirt.test_resources import checked, user_inputs
from .cluster_objects import DV, NAD, NNCP, SECRET, VM, VMI, VMIM, Cluster, Kind, condition_true, status

FOREIGN_KEY = "not-written-by-the-stack"


def vm_inputs(target: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "target": target,
        "memory": "256Mi",
        "disks": [{"name": "containerdisk", "container_image": "quay.io/kubevirt/cirros-container-disk-demo"}],
        "interfaces": [{"name": "default", "pod": True}],
        "cloud_init": {"user_data": "#cloud-config\npassword: hunter2\n"},
        **extra,
    }


def foreign_secret(cluster: Cluster, name: str, ns: str) -> dict[str, Any]:
    """A Secret someone else made, named like the provider's, with a key the stack never writes."""
    return cluster.create(
        SECRET,
        {
            "metadata": {"name": name, "namespace": ns, "labels": {"team": "theirs"}},
            "stringData": {"userdata": "#cloud-config\nusers: []\n", FOREIGN_KEY: "precious"},
        },
        ns,
    )


# -- one foreign object per kind the provider creates --------------------------------------------------------------

Case = tuple[
    Kind, Callable[[Cluster, str, str], dict[str, Any]], Callable[[dict[str, Any], str], tuple[Any, dict[str, Any]]]
]


def _foreign_vm(cluster: Cluster, name: str, ns: str) -> dict[str, Any]:
    cluster.create(
        VM,
        {
            "metadata": {"name": name, "namespace": ns},
            "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}},
        },
        ns,
    )
    return cluster.settled(VM, name, ns, lambda o: status(o, "printableStatus") == "Stopped")


def _foreign_dv(cluster: Cluster, name: str, ns: str) -> dict[str, Any]:
    cluster.create(
        DV,
        {
            "metadata": {"name": name, "namespace": ns},
            "spec": {"source": {"blank": {}}, "storage": {"resources": {"requests": {"storage": "1Gi"}}}},
        },
        ns,
    )
    return cluster.settled(DV, name, ns, lambda o: status(o, "phase") == "Succeeded")


def _foreign_nad(cluster: Cluster, name: str, ns: str) -> dict[str, Any]:
    config = '{"cniVersion": "0.3.1", "type": "bridge", "bridge": "theirs"}'
    return cluster.create(NAD, {"metadata": {"name": name, "namespace": ns}, "spec": {"config": config}}, ns)


def _foreign_nncp(cluster: Cluster, name: str, ns: str) -> dict[str, Any]:
    interfaces = [{"name": "theirs", "type": "linux-bridge", "state": "up"}]
    cluster.create(NNCP, {"metadata": {"name": name}, "spec": {"desiredState": {"interfaces": interfaces}}})
    return cluster.settled(NNCP, name, None, lambda o: condition_true(o, "Available"))


def _foreign_vmim(cluster: Cluster, name: str, ns: str) -> dict[str, Any]:
    # KubeVirt's migration-create webhook refuses a migration of a VMI that does not exist, so
    # the other team migrates a VM of theirs that runs; the migration is left once it finished.
    template = {"spec": {"domain": {"devices": {}, "resources": {"requests": {"memory": "64Mi"}}}}}
    vm = {
        "metadata": {"name": "someone-elses", "namespace": ns},
        "spec": {"runStrategy": "Always", "template": template},
    }
    cluster.create(VM, vm, ns)
    cluster.settled(VMI, "someone-elses", ns, lambda o: status(o, "phase") == "Running")
    cluster.create(VMIM, {"metadata": {"name": name, "namespace": ns}, "spec": {"vmiName": "someone-elses"}}, ns)
    return cluster.settled(VMIM, name, ns, lambda o: status(o, "phase") in ("Succeeded", "Failed"))


def _vm(target: dict[str, Any], name: str) -> tuple[Any, dict[str, Any]]:
    vmp = VirtualMachineProvider()
    return vmp, checked(vmp, {}, vm_inputs(target, name))


def _disk(target: dict[str, Any], name: str) -> tuple[Any, dict[str, Any]]:
    dp = DiskProvider()
    return dp, checked(dp, {}, {"name": name, "target": target, "size": "1Gi"})


def _bridge(target: dict[str, Any], name: str) -> tuple[Any, dict[str, Any]]:
    bp = BridgeProvider()
    return bp, checked(bp, {}, {"name": name, "target": target, "bridge": name, "ports": ["eth1"]})


def _migration(target: dict[str, Any], name: str) -> tuple[Any, dict[str, Any]]:
    mp = MigrationProvider()
    spec = {"name": "someone-elses", "target": target, "memory": "256Mi"}
    return mp, checked(mp, {}, {"name": name, "vm": "someone-elses", "target": target, "vm_spec": spec})


CASES: dict[
    str, tuple[Kind, Callable[[Cluster, str, str], dict[str, Any]], Callable[..., tuple[Any, dict[str, Any]]], str]
] = {
    # kind made by someone else, how, which resource collides with it, the colliding object's name from the resource's
    "secret": (SECRET, lambda c, n, ns: foreign_secret(c, n, ns), _vm, "{}-cloudinit"),
    "vm": (VM, _foreign_vm, _vm, "{}"),
    "datavolume": (DV, _foreign_dv, _disk, "{}"),
    "nad": (NAD, _foreign_nad, _bridge, "{}"),
    "nncp": (NNCP, _foreign_nncp, _bridge, "{}"),
    "vmim": (VMIM, _foreign_vmim, _migration, "{}"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_create_refuses_a_foreign_object_and_leaves_it_byte_for_byte(
    case: str, target: dict[str, Any], cluster: Cluster
) -> None:
    kind, make_foreign, resource, object_name = CASES[case]
    ns = target["namespace"]
    name = f"t-{case[:3]}-{secrets.token_hex(3)}"
    collides = object_name.format(name)
    before = make_foreign(cluster, collides, ns)
    provider, inputs = resource(target, name)
    with pytest.raises(Conflict) as caught:
        provider.create(inputs)
    where = f"{ns}/{collides}" if kind.namespaced else collides
    assert f"{kind.kind} {where} already exists" in str(caught.value)
    assert "adopt=True" in str(caught.value)
    assert cluster.get(kind, collides, ns if kind.namespaced else None) == before  # resourceVersion and all
    # nothing of the provider's is left behind either (what it made before the collision was rolled back)
    assert cluster.managed(ns, {name}) == []
    if not kind.namespaced:
        cluster.delete(kind, collides)


def test_the_cloud_init_secret_collision_then_adopt_and_destroy(target: dict[str, Any], cluster: Cluster) -> None:
    """The reported data loss: a Secret named like the VM's cloud-init Secret was taken over by `up`
    and deleted by `destroy`. Now `up` refuses it; only `adopt=True` takes it over."""
    ns = target["namespace"]
    before = foreign_secret(cluster, "web-cloudinit", ns)
    vmp = VirtualMachineProvider()
    with pytest.raises(Conflict, match=rf"Secret {ns}/web-cloudinit already exists and it was not created by"):
        vmp.create(checked(vmp, {}, vm_inputs(target, "web")))
    assert cluster.get(SECRET, "web-cloudinit", ns) == before
    assert cluster.get(VM, "web", ns) is None
    # a refused create never reaches `destroy` (nothing in state); a destroy of the resource would also leave it:
    owner = f"pkv-tests/{secrets.token_hex(4)}::web"
    inputs = checked(vmp, {}, {OWNER: owner, **vm_inputs(target, "web")})
    vmp.delete(f"kubevirt:{ns}/web", inputs)
    assert cluster.get(SECRET, "web-cloudinit", ns) == before

    adopted = checked(vmp, {}, {OWNER: owner, **vm_inputs(target, "web", adopt=True)})
    made = vmp.create(adopted)
    secret = cluster.get(SECRET, "web-cloudinit", ns)
    assert secret is not None
    assert secret["metadata"]["annotations"][OWNER_RESOURCE] == "web"
    assert secret["metadata"]["annotations"][OWNER_STACK] == owner.split("::")[0]
    assert secret["metadata"]["uid"] == before["metadata"]["uid"]  # taken over, not replaced
    vmp.delete(made.id, dict(made.outs))
    assert cluster.get(VM, "web", ns) is None and cluster.get(SECRET, "web-cloudinit", ns) is None


def test_another_stack_cannot_take_over_and_delete_leaves_what_is_not_ours(
    target: dict[str, Any], cluster: Cluster, capfd: pytest.CaptureFixture[str]
) -> None:
    ns = target["namespace"]
    vmp = VirtualMachineProvider()
    mine = checked(vmp, {}, vm_inputs(target, "app"))
    made = vmp.create(mine)
    ours = cluster.get(VM, "app", ns)
    assert ours is not None
    # the same names from another stack (or another resource of this one): refused, nothing changed
    with pytest.raises(Conflict, match=r"Secret .*/app-cloudinit already exists and it belongs to pkv-tests/"):
        vmp.create(checked(vmp, {}, vm_inputs(target, "app")))
    assert cluster.get(VM, "app", ns)["metadata"]["uid"] == ours["metadata"]["uid"]  # type: ignore[index]

    # the Secret is replaced by someone else's: an update refuses to write it, destroy leaves it
    cluster.delete(SECRET, "app-cloudinit", ns)
    theirs = foreign_secret(cluster, "app-cloudinit", ns)
    changed = checked(vmp, mine, {**user_inputs(mine), "cloud_init": {"user_data": "#cloud-config\n{}\n"}})
    with pytest.raises(Conflict, match=rf"Secret {ns}/app-cloudinit already exists"):
        vmp.update(made.id, dict(made.outs), changed)
    assert cluster.get(SECRET, "app-cloudinit", ns) == theirs
    capfd.readouterr()
    vmp.delete(made.id, dict(made.outs))
    assert cluster.get(VM, "app", ns) is None
    assert cluster.get(SECRET, "app-cloudinit", ns) == theirs
    assert f"left Secret {ns}/app-cloudinit: it is not owned by" in capfd.readouterr().err

    # a VM of the same name made by someone else after ours went: read says gone, delete leaves it
    foreign = _foreign_vm(cluster, "app", ns)
    assert vmp.read(made.id, dict(made.outs)).id is None
    vmp.delete(made.id, dict(made.outs))
    assert cluster.get(VM, "app", ns) == foreign


@pytest.mark.parametrize("kind", [SECRET, VM], ids=lambda k: k.kind)
def test_a_foreign_create_between_the_read_and_the_write_is_refused(
    kind: Kind, target: dict[str, Any], cluster: Cluster, kube_cluster: KubeCluster
) -> None:
    """The race a plain server-side apply (force=True) loses: someone creates the object after our
    read said "absent". The apply carries a fresh UID, so it cannot land on their object."""
    ns = target["namespace"]
    owner = Owner("pkv-tests/race", "r")
    name = f"race-{secrets.token_hex(3)}"
    body: dict[str, Any] = {
        "metadata": {
            "name": name,
            "namespace": ns,
            "annotations": {OWNER_STACK: owner.stack, OWNER_RESOURCE: owner.resource},
        }
    }
    if kind is SECRET:
        body.update(apiVersion="v1", kind="Secret", stringData={"userdata": "ours"})
        gvr = kclient.SECRET
        theirs = foreign_secret(cluster, name, ns)
    else:
        body.update(
            apiVersion="kubevirt.io/v1",
            kind="VirtualMachine",
            spec={"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}},
        )
        gvr = kclient.VM
        theirs = _foreign_vm(cluster, name, ns)
    api = kclient.Clusters().api(
        KubevirtTarget(kind="kubevirt", kubeconfig=str(kube_cluster.kubeconfig), namespace=ns), resource="r"
    )
    stale = iter([None])
    real_get = api.get
    api.get = lambda g, n, s: next(stale, real_get(g, n, s)) if g == gvr else real_get(g, n, s)  # type: ignore[method-assign]
    with pytest.raises(Conflict, match="already exists and it was not created by pulumi-kubevirt"):
        apply_owned(api, gvr, body, owner=owner, progress=lambda _m: None)
    assert cluster.get(kind, name, ns) == theirs
