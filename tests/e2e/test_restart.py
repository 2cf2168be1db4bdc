"""Everything acknowledged survives a clean restart of the node: data of
every kind, metadata, ACLs, volumes, users and keys."""

import json
import os

from harness import acl, pb, sha256, wait_until


def test_data_survives_restart(tessera):
    t = tessera
    bob = t.make_user("bob")
    d = t.unique("durable")
    v = t.adm.CreateVolume(pb.CreateVolumeRequest(path=d, quota_bytes=8 << 20)).volume
    assert v.path == d
    blob = os.urandom(1 << 20)
    t.admin.put_file(f"{d}/blob", blob)
    t.admin.chmod(f"{d}/blob", 0o640)
    t.admin.set_acl(f"{d}/blob", acl("user:bob:r"))
    t.admin.create_table(f"{d}/tb")
    for i in range(20):
        t.admin.put_row(f"{d}/tb", f"k{i:02d}", {"i": i})
    t.admin.put_row(f"{d}/tb", "k00", {"i": "updated"})
    t.admin.create_stream(f"{d}/s", topic="t", partitions=2)
    t.admin.produce(f"{d}/s", "t", [f"r{i}".encode() for i in range(7)], partition=1)
    t.streams.CommitOffset(pb.CommitOffsetRequest(stream=f"{d}/s", topic="t", group="g",
                                                  partition=1, offset=4))
    t.ns.Symlink(pb.SymlinkRequest(path=f"{d}/link", target=f"{d}/blob"))
    # Tablets and partitions report their bytes about once a second.
    wait_until(lambda: t.admin.stat(f"{d}/tb").rows == 20 and t.admin.stat(f"{d}/s").size == 14,
               10, what="rows and records reported")
    used = {x.path: x.used_bytes for x in t.adm.ListVolumes(pb.ListVolumesRequest()).volumes}[d]

    rc = t.restart()
    assert rc == 0, f"tesserad should exit cleanly on SIGTERM, got {rc}"
    # Old channels were closed with the old process; the keys must still work.
    bob = t.client(bob.key_id, bob.secret, "bob")
    assert bob.admin.WhoAmI(pb.WhoAmIRequest()).user.name == "bob"

    assert sha256(t.admin.read(f"{d}/blob")) == sha256(blob)
    st = t.admin.stat(f"{d}/blob")
    assert st.mode & 0o7777 == 0o640 and st.has_acl
    assert sha256(bob.read(f"{d}/blob")) == sha256(blob), "ACLs survive"
    rows = t.admin.scan_all(f"{d}/tb")
    assert len(rows) == 20
    assert json.loads(rows[0].document) == {"i": "updated"} and rows[0].version == 2
    top = t.admin.topic(f"{d}/s", "t")
    assert list(top.end_offsets) == [0, 7]
    f = t.admin.fetch(f"{d}/s", "t", partition=1, offset=0)
    assert [r.value for r in f.records] == [f"r{i}".encode() for i in range(7)]
    g = t.streams.GetOffset(pb.GetOffsetRequest(stream=f"{d}/s", topic="t", group="g",
                                                partition=1))
    assert g.found and g.offset == 4
    assert t.admin.stat(f"{d}/link").symlink_target == f"{d}/blob"
    vols = {x.path: x for x in t.adm.ListVolumes(pb.ListVolumesRequest()).volumes}
    assert vols[d].quota_bytes == 8 << 20 and vols[d].used_bytes == used
    # Offsets continue after the restart.
    resp = t.admin.produce(f"{d}/s", "t", [b"after"], partition=1)
    assert list(resp.offsets) == [7]
