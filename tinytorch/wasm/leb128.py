"""LEB128: how the WebAssembly binary format writes an unsigned integer (a section's size, a count,
a memory's limits) in 7-bit groups, low first, the high bit set on every byte but the last.

threads.py rewrites kernels.wasm's memory import with them; source/build.py (not in the wheel)
loads this file to read the module it checks.
"""


def leb(value: int) -> bytes:
    """`value` (>= 0) as unsigned LEB128 bytes."""
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def read_leb(data: bytes, i: int):
    """(value, index after it) of the unsigned LEB128 number that starts at data[i]."""
    value = shift = 0
    while True:
        byte = data[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i
