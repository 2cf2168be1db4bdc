"""Files: whole-file round trips, positional writes, append, truncate,
ranged reads and a large streamed write."""

import hashlib
import os

from harness import MiB, expect_errc, pb, sha256


def test_cli_put_get_round_trip(tessera, tmp_path):
    t = tessera
    d = t.unique("rt")
    t.admin.mkdir(d)
    data = os.urandom(3 * MiB + 12345)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    t.cli_ok("put", src, f"{d}/blob.bin")
    st = t.admin.stat(f"{d}/blob.bin")
    assert st.kind == pb.KIND_FILE and st.size == len(data)
    assert sha256(t.admin.read(f"{d}/blob.bin")) == sha256(data)
    dst = tmp_path / "dst.bin"
    t.cli_ok("get", f"{d}/blob.bin", dst)
    assert sha256(dst.read_bytes()) == sha256(data)
    # put over an existing file replaces it entirely.
    small = tmp_path / "small.bin"
    small.write_bytes(b"tiny")
    t.cli_ok("put", small, f"{d}/blob.bin")
    assert t.admin.read(f"{d}/blob.bin") == b"tiny"


def test_cli_cat_prints_content(tessera):
    t = tessera
    d = t.unique("cat")
    t.admin.mkdir(d)
    t.admin.put_file(f"{d}/hello.txt", b"hello\nworld\n")
    rc, out, err = t.cli("cat", f"{d}/hello.txt")
    assert rc == 0, err
    assert out == "hello\nworld\n"
    err = t.cli_fail("cat", f"{d}/absent")
    assert f"{d}/absent" in err and "not found" in err, err


def test_write_at_offset_overwrites_in_place(tessera):
    t = tessera
    f = t.unique("off")
    t.admin.put_file(f, b"hello world")
    resp = t.admin.write(f, b"WORLD", offset=6, create=False)
    assert resp.bytes_written == 5
    assert resp.size == 11
    assert t.admin.read(f) == b"hello WORLD"
    # Writing past the end extends the file; the gap reads as zeros.
    resp = t.admin.write(f, b"!", offset=15, create=False)
    assert resp.size == 16
    assert t.admin.read(f) == b"hello WORLD\0\0\0\0!"
    # Several pieces at explicit offsets in one stream.
    def pieces():
        yield pb.WriteRequest(path=f, offset=0, data=b"H")
        yield pb.WriteRequest(offset=6, data=b"w")
    resp = t.files.Write(pieces())
    assert resp.bytes_written == 2
    assert t.admin.read(f) == b"Hello wORLD\0\0\0\0!"


def test_append_adds_at_end(tessera):
    t = tessera
    f = t.unique("app")
    t.admin.write(f, b"one,", append=True, create=True)
    t.admin.write(f, b"two,", append=True, create=False)
    resp = t.admin.write(f, b"three", append=True, create=False)
    assert resp.size == len(b"one,two,three")
    assert t.admin.read(f) == b"one,two,three"


def test_create_exclusive_and_truncate(tessera):
    t = tessera
    f = t.unique("create")
    st = t.files.Create(pb.CreateFileRequest(path=f, exclusive=True)).stat
    assert st.kind == pb.KIND_FILE and st.size == 0 and st.mode & 0o7777 == 0o644
    t.admin.write(f, b"content", create=False)
    expect_errc("already_exists", t.files.Create, pb.CreateFileRequest(path=f, exclusive=True))
    assert t.admin.read(f) == b"content"
    # Non-exclusive create of an existing file keeps it.
    t.files.Create(pb.CreateFileRequest(path=f))
    assert t.admin.read(f) == b"content"
    st = t.files.Create(pb.CreateFileRequest(path=f, truncate=True)).stat
    assert st.size == 0
    assert t.admin.read(f) == b""
    st = t.files.Create(pb.CreateFileRequest(path=f"{f}-600", mode=0o600)).stat
    assert st.mode & 0o7777 == 0o600


def test_truncate_shrinks_and_extends(tessera):
    t = tessera
    f = t.unique("trunc")
    t.admin.put_file(f, b"0123456789")
    st = t.files.Truncate(pb.TruncateRequest(path=f, size=4)).stat
    assert st.size == 4
    assert t.admin.read(f) == b"0123"
    st = t.files.Truncate(pb.TruncateRequest(path=f, size=8)).stat
    assert st.size == 8
    assert t.admin.read(f) == b"0123\0\0\0\0"
    # Truncate on open of a write stream.
    t.admin.write(f, b"ab", truncate=True, create=False)
    assert t.admin.read(f) == b"ab"
    expect_errc("not_found", t.files.Truncate, pb.TruncateRequest(path=f"{f}-no", size=0))


def test_read_ranges(tessera):
    t = tessera
    f = t.unique("range")
    data = os.urandom(3 * MiB + 17)
    t.admin.put_file(f, data)
    assert t.admin.read(f, offset=100, length=50) == data[100:150]
    assert t.admin.read(f, offset=MiB - 3, length=10) == data[MiB - 3:MiB + 7]
    assert t.admin.read(f, offset=len(data) - 5) == data[-5:]
    # A range past the end returns what exists.
    assert t.admin.read(f, offset=len(data) - 5, length=100) == data[-5:]
    # Streamed in order, at most 1 MiB per message, offsets matching.
    pos = 0
    for msg in t.files.Read(pb.ReadRequest(path=f, offset=10)):
        assert len(msg.data) <= MiB
        assert msg.offset == 10 + pos
        assert msg.data == data[10 + pos:10 + pos + len(msg.data)]
        pos += len(msg.data)
    assert pos == len(data) - 10


def test_message_of_4mib_is_accepted(tessera):
    t = tessera
    f = t.unique("4m")
    data = os.urandom(4 * MiB)
    resp = t.files.Write(iter([pb.WriteRequest(path=f, create=True, data=data)]))
    assert resp.size == 4 * MiB
    assert sha256(t.admin.read(f)) == sha256(data)


def test_write_message_over_4mib_is_refused(tessera):
    t = tessera
    f = t.unique("5m")
    t.admin.put_file(f, b"before")
    expect_errc(("too_large", "invalid_argument"), t.files.Write,
                iter([pb.WriteRequest(path=f, data=b"x" * (4 * MiB + 1))]))
    assert t.admin.read(f) == b"before"


def test_64mib_streamed_write(tessera):
    t = tessera
    f = t.unique("big")
    chunk_bytes = 2 * MiB
    total = 64 * MiB
    seed = os.urandom(chunk_bytes)
    h = hashlib.sha256()

    def chunks():
        for i in range(total // chunk_bytes):
            piece = bytes([i & 0xff]) + seed[1:]
            h.update(piece)
            req = pb.WriteRequest(offset=i * chunk_bytes, data=piece)
            if i == 0:
                req.path = f
                req.create = True
            yield req

    resp = t.files.Write(chunks(), timeout=300)
    assert resp.bytes_written == total
    assert resp.size == total
    assert t.admin.stat(f).size == total
    r = hashlib.sha256()
    n = 0
    for msg in t.files.Read(pb.ReadRequest(path=f), timeout=300):
        r.update(msg.data)
        n += len(msg.data)
    assert n == total
    assert r.hexdigest() == h.hexdigest()


def test_write_to_directory_and_missing_parent(tessera):
    t = tessera
    d = t.unique("wdir")
    t.admin.mkdir(d)
    expect_errc(("is_a_directory", "wrong_kind"), t.admin.put_file, d, b"x")
    expect_errc("not_found", t.admin.put_file, f"{d}/missing/f", b"x")
