#!/usr/bin/env python3
"""Writes the seed corpora under tests/fuzz/corpus/<target>/ from tests/fixtures.

Run from anywhere: python3 tests/fuzz/make_corpus.py. The output is committed; rerun after
adding fixtures. Seeds stay small (model.json files, short shards, single localStorage values).
"""
import base64
import hashlib
import json
import pathlib
import struct

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
CORPUS = HERE / "corpus"
MAX_SEED = 128 * 1024


def put(target, data, name=None):
    if isinstance(data, str):
        data = data.encode()
    if len(data) > MAX_SEED:
        return
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    name = name or hashlib.sha1(data).hexdigest()[:16]
    (folder / name).write_bytes(data)


def model_json_seeds():
    for path in sorted(FIXTURES.rglob("*.json")):
        if path.name in ("SOURCE.json", "reference.json", "capture.json", "browser-schemes.json"):
            continue
        put("fuzz_model_json", path.read_bytes(), path.parent.name + "-" + path.name)
    put("fuzz_model_json", '{"modelTopology":null,"weightsManifest":[{"paths":[]}]}', "topology-only")
    put("fuzz_model_json", '{"modelTopology":{},"weightsManifest":[{"paths":["a.bin"],"weights":[{"name":"s",'
        '"shape":[2],"dtype":"string"},{"name":"q","shape":[3],"dtype":"float32","quantization":'
        '{"dtype":"uint8","min":-1,"scale":0.5,"original_dtype":"float32"}}]}],"extra":1}', "string-and-quantized")


def weight_seed(weights, stream, cuts=()):
    """weights: (dtype index, dims, quant byte, quant payload bytes)."""
    out = bytearray([len(weights)])
    for dtype, dims, quant, payload in weights:
        out += bytes([dtype, len(dims)])
        for d in dims:
            out.append(0x20 | d)  # kind 1: a dimension up to 31
        out.append(quant)
        out += payload
    out.append(len(cuts))
    out += bytes(cuts)
    return bytes(out) + stream


def weight_decode_seeds():
    f32 = struct.pack("<4f", 1.0, -2.5, 3.25, 0.0)
    put("fuzz_weight_decode", weight_seed([(0, [4], 0, b"")], f32), "float32")
    put("fuzz_weight_decode", weight_seed([(1, [2, 2], 0, b"")], struct.pack("<4i", 1, -1, 7, 2**31 - 1), [5]), "int32-two-shards")
    put("fuzz_weight_decode", weight_seed([(2, [3], 0, b"")], b"\x00\x01\x01"), "bool")
    put("fuzz_weight_decode", weight_seed([(3, [2], 0, b"")], struct.pack("<4f", 1, 2, 3, 4)), "complex64")
    strings = b"".join(struct.pack("<I", len(s)) + s for s in (b"ab", b"", b"\xff\xfe"))
    put("fuzz_weight_decode", weight_seed([(4, [3], 0, b"")], strings, [3, 4]), "string")
    # quant byte: 0x80 | flags; kQuant index = q % 5 (0x80 % 5 == 3); pick values with the index wanted.
    def qbyte(index, flags):
        for q in range(0x80, 0x100):
            if q % 5 == index and q & 0x70 == flags:
                return q
        raise ValueError
    put("fuzz_weight_decode", weight_seed([(0, [4], qbyte(0, 0x60), bytes([0xff, 64]))], b"\x00\x10\x80\xff"), "uint8")
    put("fuzz_weight_decode", weight_seed([(1, [2], qbyte(1, 0x60), bytes([0xfe, 3]))], b"\x00\x01\xff\xff"), "uint16-int32")
    put("fuzz_weight_decode", weight_seed([(0, [2], qbyte(2, 0x00), b"")], b"\x00\x3c\x00\xfc"), "float16")
    put("fuzz_weight_decode", weight_seed([(0, [1], 0, b""), (4, [1], 0, b""), (1, [1], 0, b"")],
                                          f32[:4] + struct.pack("<I", 1) + b"x" + f32[4:8], [2, 7]), "mixed")


def localstorage_seeds():
    golden = json.loads((FIXTURES / "golden" / "browser-schemes.json").read_text())
    keys = golden["with_fake_browser_globals"]["localstorage"]["keys"]
    for entry in keys:
        key, value = entry["key"], entry.get("value", "...")
        suffix = key.rsplit("/", 1)[-1]
        put("fuzz_localstorage", b"\x05" + key.encode(), "key-" + suffix)
        if value.endswith("..."):
            continue  # shortened in the fixture
        if suffix == "weight_data":
            put("fuzz_localstorage", b"\x00" + value.encode(), "base64-weight-data")
        elif suffix == "info":
            put("fuzz_localstorage", b"\x03" + value.encode(), "info")
            put("fuzz_localstorage", b"\x04" + json.loads(value)["dateSaved"].encode(), "date")
        else:
            put("fuzz_localstorage", b"\x02" + value.encode(), "json-" + suffix)
    shard = (FIXTURES / "golden" / "file-save" / "tfjs-node" / "weights.bin").read_bytes()
    put("fuzz_localstorage", b"\x00" + base64.b64encode(shard), "base64-golden-shard")
    put("fuzz_localstorage", b"\x00QUJD\n REVG Rw", "base64-whitespace-unpadded")
    put("fuzz_localstorage", b"\x01\x07" + shard[:200], "bytes-encode")
    put("fuzz_localstorage", b"\x04+275760-09-13T00:00:00.000Z", "date-extended-year")
    put("fuzz_localstorage", b"\x04" + b"2024-02-29T23:59:59.9999+14:00", "date-offset")
    put("fuzz_localstorage", b"\x02" + b'{"a":[1,-0.5e-3,true,null,"\\u00e9\\ud83d\\ude00"]}', "json-escapes")


def descriptor_seed(schemes, name=b"demo", abi=1):
    out = bytearray([0, 0 if abi == 1 else 250])
    if abi != 1:
        out += struct.pack("<I", abi)
    out.append(0)  # abi_minor
    for text in (name, b"1.0.0", b"1.0", b"clang"):
        out += b"\x01" + text + b"\x00"
    out.append(0x03)  # init and shutdown
    out.append(len(schemes))
    for prefix, caps, fns in schemes:
        out += b"\x00" + b"\x01" + prefix + b"\x00" + bytes([caps, fns])
        if fns & 8:
            out.append(0)  # ops struct_size: right
    return bytes(out)


def plugin_descriptor_seeds():
    full = 0x01 | 0x02 | 0x04 | 0x08 | 0x10 | 0x20 | 0x40
    put("fuzz_plugin_descriptor", descriptor_seed([(b"demo://", 0xF, full)]), "valid-one-scheme")
    put("fuzz_plugin_descriptor", descriptor_seed([(b"file://", 0xF, full), (b"downloads://", 0x1, 0x01 | 0x08 | 0x10 | 0x20)]), "valid-two-schemes")
    put("fuzz_plugin_descriptor", descriptor_seed([(b"list://", 0x4, 0x02)]), "valid-list-only")
    put("fuzz_plugin_descriptor", descriptor_seed([(b"Bad://", 0xF, full)]), "bad-prefix")
    put("fuzz_plugin_descriptor", descriptor_seed([(b"demo://", 0xF, full)], abi=2), "wrong-abi")


if __name__ == "__main__":
    model_json_seeds()
    weight_decode_seeds()
    localstorage_seeds()
    plugin_descriptor_seeds()
