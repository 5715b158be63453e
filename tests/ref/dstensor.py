#!/usr/bin/env python3
"""DSTENSOR tensor files (engine/model/MODEL.md, "Tensor files") in Python 3 + NumPy.

The same format and checks as engine/model/tensor_file.c, for the PyTorch
fixture scripts:

    import dstensor
    dstensor.write("fixture.dst", {"encoder.conv0.weight": w, "encoder.conv0.bias": b})
    tensors = dstensor.read("fixture.dst")      # dict name -> float32 ndarray, file order

The layout matches the C writer byte for byte: tensors in order, each at a
multiple of 64 bytes (16 floats) in the data section, the section padded to
64 bytes. A file that fails any check raises CorruptTensorFile naming it.

Run as a script, `dstensor.py --selftest DIR` checks this module and its
agreement with the C code: it reads DIR/from_c.dst when the C test left one
there and writes DIR/from_py.dst for the C test to read.
"""
import os
import struct
import sys
import zlib

import numpy as np

MAGIC = b"DSTENSOR"
VERSION = 1
HEADER = struct.Struct("<8sIIQ")  # magic, version, count, data_bytes
ENTRY = struct.Struct("<64sII4QQ")  # name, ndim, dtype, shape[4], byte offset
CRC = struct.Struct("<I")
ALIGN_BYTES = 64
MAX_COUNT = 1000000


class CorruptTensorFile(ValueError):
    """A file that is not a valid DSTENSOR file; the message names it."""

    def __init__(self, path, what):
        super().__init__("%s: corrupt tensor file: %s" % (path, what))
        self.path = path
        self.what = what


def _check_name(name):
    raw = name.encode("ascii") if isinstance(name, str) else bytes(name)
    if not 1 <= len(raw) <= 63 or any(c < 0x20 or c > 0x7E for c in raw):
        raise ValueError("tensor name %r must be 1 to 63 printable ASCII characters" % (name,))
    return raw


def encode(tensors):
    """The bytes of a DSTENSOR file holding tensors (a dict or (name, array) pairs)."""
    items = list(tensors.items()) if isinstance(tensors, dict) else list(tensors)
    if len(items) > MAX_COUNT:
        raise ValueError("at most %d tensors fit a file" % MAX_COUNT)
    entries, chunks, size, seen = [], [], 0, set()
    for name, array in items:
        raw = _check_name(name)
        if raw in seen:
            raise ValueError("tensor %s appears twice" % name)
        seen.add(raw)
        a = np.ascontiguousarray(array, dtype="<f4")
        if not 1 <= a.ndim <= 4 or a.size == 0:
            raise ValueError("tensor %s has shape %s; it needs 1 to 4 non-zero dimensions"
                             % (name, a.shape))
        pad = -size % ALIGN_BYTES
        chunks.append(bytes(pad))
        size += pad
        shape = list(a.shape) + [1] * (4 - a.ndim)
        entries.append(ENTRY.pack(raw, a.ndim, 0, *shape, size))
        chunks.append(a.tobytes())
        size += a.nbytes
    pad = -size % ALIGN_BYTES
    chunks.append(bytes(pad))
    size += pad
    body = b"".join([HEADER.pack(MAGIC, VERSION, len(entries), size)] + entries + chunks)
    return body + CRC.pack(zlib.crc32(body) & 0xFFFFFFFF)


def write(path, tensors):
    """Writes tensors to path atomically: a temporary file in the same folder,
    flushed and fsynced, renamed over path, then the folder fsynced."""
    data = encode(tensors)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    fd = os.open(os.path.dirname(os.path.abspath(path)), os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def decode(buf, path="<bytes>"):
    """Checks and parses the bytes of a DSTENSOR file; dict name -> float32 array."""
    buf = memoryview(buf).cast("B")
    size = len(buf)
    if size < HEADER.size + CRC.size:
        raise CorruptTensorFile(path, "truncated: %d bytes, less than the smallest file (28)"
                                % size)
    magic, version, count, data_bytes = HEADER.unpack_from(buf, 0)
    if magic != MAGIC:
        raise CorruptTensorFile(path, "bad magic (not a DSTENSOR file)")
    if version != VERSION:
        raise CorruptTensorFile(path, "version %d (this reader reads version 1)" % version)
    if count > MAX_COUNT:
        raise CorruptTensorFile(path, "header claims %d tensors (at most %d)" % (count, MAX_COUNT))
    start = HEADER.size + ENTRY.size * count
    if size != start + data_bytes + CRC.size:
        raise CorruptTensorFile(path, "%d bytes where the header implies %d"
                                % (size, start + data_bytes + CRC.size))
    if data_bytes % 4:
        raise CorruptTensorFile(path, "a data section of %d bytes is not whole float32 values"
                                % data_bytes)
    if CRC.unpack_from(buf, size - 4)[0] != zlib.crc32(buf[: size - 4]) & 0xFFFFFFFF:
        raise CorruptTensorFile(path, "CRC mismatch")
    out = {}
    for e in range(count):
        raw, ndim, dtype, *rest = ENTRY.unpack_from(buf, HEADER.size + ENTRY.size * e)
        shape, offset = rest[:4], rest[4]
        name = raw.split(b"\0", 1)[0]
        if len(name) == 64 or raw[len(name):] != bytes(64 - len(name)):
            raise CorruptTensorFile(path, "tensor %d: name is not NUL-padded" % e)
        try:
            name = _check_name(name).decode("ascii")
        except ValueError:
            raise CorruptTensorFile(path, "tensor %d: name is empty or not printable ASCII" % e)
        if name in out:
            raise CorruptTensorFile(path, "tensor name %s appears twice" % name)
        if not 1 <= ndim <= 4:
            raise CorruptTensorFile(path, "tensor %s: ndim %d (must be 1 to 4)" % (name, ndim))
        if dtype != 0:
            raise CorruptTensorFile(path, "tensor %s: dtype %d (only 0, float32, is known)"
                                    % (name, dtype))
        if any(s != 1 for s in shape[ndim:]) or any(s == 0 for s in shape[:ndim]):
            raise CorruptTensorFile(path, "tensor %s: bad shape %s" % (name, shape))
        n = 1
        for s in shape[:ndim]:
            n *= s  # Python integers: no overflow to hide a huge shape
        if offset % 4 or offset + 4 * n > data_bytes:
            raise CorruptTensorFile(path, "tensor %s: %d floats at byte %d run past the "
                                    "%d-byte data section" % (name, n, offset, data_bytes))
        a = np.frombuffer(buf, dtype="<f4", count=n, offset=start + offset)
        out[name] = a.reshape(shape[:ndim]).astype(np.float32)
    return out


def read(path):
    """Reads and checks a DSTENSOR file; dict name -> float32 array, in file order."""
    with open(path, "rb") as f:
        return decode(f.read(), path)


# ---------------------------------------------------------------- self-test

def pattern():
    """The tensors the C test (tests/test_checkpoint.c) and this self-test
    exchange; every value is exact in float32."""
    shapes = [("encoder.conv0.weight", (5, 5, 3, 7)), ("encoder.conv0.bias", (7,)),
              ("dense", (13, 11)), ("odd.4d", (2, 3, 1, 5)), ("one", (1,))]
    out = {}
    for t, (name, shape) in enumerate(shapes):
        i = np.arange(int(np.prod(shape)), dtype=np.int64)
        out[name] = (((i * 7 + t * 13) % 101 - 50) / 8.0).astype(np.float32).reshape(shape)
    return out


def _same(a, b):
    return list(a) == list(b) and all(
        a[k].shape == b[k].shape and a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k])
        for k in a)


def selftest(scratch):
    os.makedirs(scratch, exist_ok=True)
    failures = []
    checks = 0

    def check(cond, what):
        nonlocal checks
        checks += 1
        if not cond:
            failures.append(what)
            print("dstensor.py: FAILED: %s" % what, file=sys.stderr)

    def corrupt(buf):
        try:
            decode(buf, "x")
        except CorruptTensorFile:
            return True
        return False

    rng = np.random.default_rng(7)
    tensors = {"a": rng.standard_normal(17).astype(np.float32),
               "b.c": rng.standard_normal((3, 5)).astype(np.float32),
               "d": rng.standard_normal((2, 1, 3)).astype(np.float32),
               "e": rng.standard_normal((1, 2, 3, 4)).astype(np.float32)}
    path = os.path.join(scratch, "py_roundtrip.dst")
    write(path, tensors)
    check(_same(read(path), tensors), "round trip")
    check(not os.path.exists(path + ".tmp-%d" % os.getpid()), "no temporary file left")
    check(encode(tensors) == open(path, "rb").read(), "encode is deterministic")

    small = encode({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones(1)})
    check(len(small) == 24 + 2 * 112 + 128 + 4, "layout size")
    check(small[16:24] == struct.pack("<Q", 128), "data_bytes field")
    check(all(corrupt(small[:n]) for n in range(len(small))), "every truncation is caught")
    check(all(corrupt(small[:i] + bytes([small[i] ^ (1 << (i % 8))]) + small[i + 1:])
              for i in range(len(small))), "every flipped bit is caught")
    huge = bytearray(small)
    struct.pack_into("<I", huge, 12, 0xFFFFFFFF)
    check(corrupt(bytes(huge)), "huge count is caught")
    huge = bytearray(small)
    struct.pack_into("<Q", huge, 16, 1 << 62)
    check(corrupt(bytes(huge)), "huge data size is caught")
    try:
        read(os.path.join(scratch, "missing.dst"))
        check(False, "missing file raises FileNotFoundError")
    except FileNotFoundError:
        check(True, "")

    expected = pattern()
    from_c = os.path.join(scratch, "from_c.dst")
    if os.path.exists(from_c):
        check(_same(read(from_c), expected), "from_c.dst holds the pattern")
        check(open(from_c, "rb").read() == encode(expected), "C and Python write the same bytes")
    write(os.path.join(scratch, "from_py.dst"), expected)

    print("dstensor.py selftest: %d checks, %d failed%s" % (
        checks, len(failures), "" if os.path.exists(from_c) else " (no from_c.dst to read)"))
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--selftest":
        sys.exit(selftest(sys.argv[2]))
    print("usage: dstensor.py --selftest SCRATCH_DIR", file=sys.stderr)
    sys.exit(2)
