"""Fast XCDR1 codec between packed C records (:mod:`.layouts`) and DDS wire bytes.

Unitree's messages are *final* structs of fixed-size primitives and fixed arrays, so their XCDR1
encoding is just the primitives in declaration order, each aligned to its own size relative to the
start of the payload (after the 4-byte encapsulation header ``00 01 00 00`` = CDR little-endian).
That differs from the C struct only in where padding goes, so one precomputed byte-gather index
converts a record to CDR and back in a few microseconds -- about 30x faster than the binding's
generic Python serializer, which matters at 500 Hz. Tests check the output byte for byte against
``cyclonedds``' own ``serialize``/``deserialize``.
"""

from __future__ import annotations

import numpy as np

CDR_LE_HEADER = b"\x00\x01\x00\x00"


def _walk(dtype: np.dtype, c_base: int, cdr_off: int, out: list[tuple[int, int, int]]) -> int:
    """Append (c_offset, cdr_offset, size) for every primitive in ``dtype``; return the CDR end."""
    for name in dtype.names:
        sub, c_off = dtype.fields[name][:2]
        base, shape = (sub.subdtype if sub.subdtype is not None else (sub, ()))
        count = int(np.prod(shape)) if shape else 1
        for i in range(count):
            c_elem = c_base + c_off + i * base.itemsize
            if base.names is not None:
                cdr_off = _walk(base, c_elem, cdr_off, out)
            else:
                size = base.itemsize
                cdr_off = (cdr_off + size - 1) // size * size
                out.append((c_elem, cdr_off, size))
                cdr_off += size
    return cdr_off


class CdrCodec:
    """XCDR1 little-endian codec for one record dtype.

    Attributes:
        dtype: the packed C record dtype (``layouts.HG_LOWCMD`` etc.).
        payload_size: CDR payload bytes (without header, before padding to 4).
        wire_size: header + payload padded to a multiple of 4 (what DDS carries).
    """

    def __init__(self, dtype: np.dtype) -> None:
        if dtype.names is None:
            raise ValueError("CdrCodec needs a structured dtype")
        prims: list[tuple[int, int, int]] = []
        self.dtype = dtype
        self.payload_size = _walk(dtype, 0, 0, prims)
        self.wire_size = 4 + (self.payload_size + 3) // 4 * 4
        c_idx, cdr_idx = [], []
        for c_off, cdr_off, size in prims:
            c_idx.extend(range(c_off, c_off + size))
            cdr_idx.extend(range(cdr_off, cdr_off + size))
        self._c_idx = np.asarray(c_idx, dtype=np.intp)  # (P,) source bytes in the C record
        self._cdr_idx = np.asarray(cdr_idx, dtype=np.intp) + 4  # (P,) their place on the wire
        self._template = np.zeros(self.wire_size, dtype=np.uint8)
        self._template[:4] = np.frombuffer(CDR_LE_HEADER, dtype=np.uint8)

    def encode(self, rec: np.ndarray) -> bytes:
        """Wire bytes (header included) of one record (shape ``()``)."""
        if rec.dtype != self.dtype:
            raise ValueError(f"record dtype does not match this codec ({rec.dtype} != {self.dtype})")
        src = np.ascontiguousarray(rec).reshape(1).view(np.uint8)
        out = self._template.copy()
        out[self._cdr_idx] = src[self._c_idx]
        return out.tobytes()

    def decode(self, data: bytes | bytearray | memoryview) -> np.ndarray:
        """Record (shape ``()``) from wire bytes. Raises ValueError on anything but XCDR1
        little-endian of the right size."""
        buf = np.frombuffer(data, dtype=np.uint8)
        if buf.size < 4 + self.payload_size:
            raise ValueError(f"CDR sample too short: {buf.size} bytes, expected {4 + self.payload_size}")
        if bytes(buf[:2]) != CDR_LE_HEADER[:2]:
            raise ValueError(f"unsupported CDR encapsulation {bytes(buf[:2]).hex()} (expected 0001, XCDR1 LE)")
        out = np.zeros(self.dtype.itemsize, dtype=np.uint8)
        out[self._c_idx] = buf[self._cdr_idx]
        return out.view(self.dtype).reshape(())
