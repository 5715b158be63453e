#!/usr/bin/env python3
"""Writes the seed corpora of fuzz_tune_cache and fuzz_program_cache: valid
files in the formats of host/tune_cache.h and host/program_cache.c, and a few
near misses. Run from anywhere: python3 tests/fuzz/make_cache_corpus.py"""
import os
import struct
import zlib

here = os.path.dirname(os.path.abspath(__file__))
KEY = b"fuzz|device|driver|-cl-std=CL1.2|0123456789abcdef"  # fuzz_program_cache.c


def put(folder, name, data):
    d = os.path.join(here, "corpus", folder)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def program(key, binary, version=1, crc=None):
    if crc is None:
        crc = zlib.crc32(binary, zlib.crc32(key))
    return b"DSCLBIN\0" + struct.pack("<IIQI", version, len(key), len(binary), crc) + key + binary


put("program_cache", "valid", program(KEY, bytes(range(256)) * 3))
put("program_cache", "empty-binary", program(KEY, b""))
put("program_cache", "bad-crc", program(KEY, b"\x7fELF binary", crc=1))
put("program_cache", "other-key", program(b"another key", b"\x7fELF"))
put("program_cache", "version-2", program(KEY, b"\x7fELF", version=2))
put("program_cache", "truncated", program(KEY, b"\x7fELF" * 40)[:-7])

put("tune_cache", "valid",
    b"# dsengine tuning: fuzz device | 1.0\n"
    b"gemm 1024x1024x1024 nn = tile6x32k2048\n"
    b"gemm 48x40x24 tn = ltile64 flags=1\n"
    b"conv 3x3 s1 32x32x128>256 = phase\n")
put("tune_cache", "odd-lines",
    b"# comment\n= value without key\nkey without value = \n  spaced key   =   spaced  \n"
    b"dup = 1\ndup = 2\nno separator\nkey = value = more\r\nlast line without break = x")
put("tune_cache", "long-line", b"k" * 200 + b" = " + b"v" * 200 + b"\nshort = ok\n")
put("tune_cache", "empty", b"")
