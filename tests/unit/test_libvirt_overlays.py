"""Pure helpers behind disk-only snapshot overlays: which files a domain's disks use (an overlay in use
must stay), what a volume is layered on (an overlay is layered on the disk it is named after), and
which snapshots a VM's delete merges back (disk-only ones marked by its stack)."""

from __future__ import annotations

from pulumi_kubevirt.provider.libvirt import parse, render
from pulumi_kubevirt.provider.models.snapshot import SnapshotArgs

LIVE_DOMAIN = """<domain type='kvm'><name>vm</name><devices>
  <disk type='file' device='disk'>
    <source file='/pool/vm-root.qcow2.snap'/>
    <backingStore type='volume'>
      <format type='qcow2'/>
      <source pool='default' volume='vm-root.qcow2'/>
      <backingStore type='file'><source file='/pool/base.img'/><backingStore/></backingStore>
    </backingStore>
    <target dev='vda' bus='virtio'/>
  </disk>
  <disk type='volume' device='cdrom'><source pool='default' volume='seed.iso'/><target dev='sda'/><readonly/></disk>
  <interface type='network'><source network='default'/></interface>
</devices></domain>"""


def test_disk_files_are_every_source_file_of_the_disks_and_their_backing_chains() -> None:
    assert parse.parse_disk_files(LIVE_DOMAIN) == {"/pool/vm-root.qcow2.snap", "/pool/base.img"}
    assert parse.parse_disk_files("<domain><name>x</name><devices/></domain>") == set()


def test_backing_path_of_an_overlay_volume_and_none_for_a_standalone_one() -> None:
    overlay = """<volume type='file'><name>vm-root.qcow2.snap</name>
      <target><path>/pool/vm-root.qcow2.snap</path><format type='qcow2'/></target>
      <backingStore><path>/pool/vm-root.qcow2</path><format type='qcow2'/></backingStore></volume>"""
    assert parse.parse_backing_path(overlay) == "/pool/vm-root.qcow2"
    standalone = "<volume><name>b</name><target><path>/pool/b</path></target><backingStore/></volume>"
    assert parse.parse_backing_path(standalone) is None
    assert parse.parse_backing_path("<volume><name>b</name></volume>") is None


def test_disk_only_owner_is_the_marker_of_an_external_snapshot_only() -> None:
    args = SnapshotArgs.model_validate({"name": "s", "vm": "vm", "disk_only": True})
    xml = render.render_disk_only_snapshot(args, owner="p/st::snap", overlays={"vda": "/pool/vm-root.qcow2.s"})
    taken = xml.replace("</domainsnapshot>", "<state>disk-snapshot</state></domainsnapshot>")
    assert parse.parse_disk_only_owner(taken) == "p/st::snap"
    internal = render.render_snapshot(args.model_copy(update={"disk_only": False}), owner="p/st::snap")
    assert (
        parse.parse_disk_only_owner(internal.replace("</domainsnapshot>", "<state>running</state></domainsnapshot>"))
        is None
    )
    hand = "<domainsnapshot><name>h</name><description>mine</description><state>disk-snapshot</state></domainsnapshot>"
    assert parse.parse_disk_only_owner(hand) is None
