"""Unitree CRC-32 and the C struct layouts it is computed over.

The expected values come from (a) an independent bit-by-bit implementation of Unitree's
``crc32_core`` written here, (b) the CRC-32/MPEG-2 catalogue check value, and (c) messages packed
by hand with ``struct`` following the C layout (natural alignment).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest

from trirl_ros.core.deploy.unitree import layouts as L
from trirl_ros.core.deploy.unitree.crc import crc32_bytes, crc32_words, message_crc


def reference_crc32_core(words: list[int]) -> int:
    """Unitree's crc32_core, bit by bit: register 0xFFFFFFFF, poly 0x04C11DB7, each word MSB first;
    the data bit is XORed in as a second polynomial term after the shift."""
    crc = 0xFFFFFFFF
    for data in words:
        xbit = 1 << 31
        for _ in range(32):
            if crc & 0x80000000:
                crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF
            else:
                crc = (crc << 1) & 0xFFFFFFFF
            if data & xbit:
                crc ^= 0x04C11DB7
            xbit >>= 1
    return crc


def words_of(packed: bytes) -> list[int]:
    """All little-endian uint32 words of a packed struct except the final crc word."""
    n = len(packed) // 4 - 1
    return list(struct.unpack(f"<{n}I", packed[: 4 * n]))


# Hand-written C layouts (natural alignment; x = padding byte)
HG_LOWCMD_FMT = "<BB2x" + "B3x5fI" * 35 + "4I" + "I"
GO_LOWCMD_FMT = "<2BBB2I2IH2x" + "B3x5f3I" * 20 + "B3B" + "40B12B2BBx" + "I" + "I"


def hand_built_g1_cmd() -> tuple[bytes, np.ndarray]:
    """A G1 LowCmd packed by hand and the same message through layouts; crc field 0."""
    values = [0, 5]  # mode_pr, mode_machine
    rec = L.empty_lowcmd("unitree_hg")
    rec["mode_machine"] = 5
    for i in range(35):
        mode, q, dq, tau, kp, kd = (1 if i < 29 else 0), 0.1 * i - 1.0, 0.01 * i, -0.5, 60.0 + i, 1.5
        values += [mode, q, dq, tau, kp, kd, 0]
        m = rec["motor_cmd"][i]
        m["mode"], m["q"], m["dq"], m["tau"], m["kp"], m["kd"] = mode, q, dq, tau, kp, kd
    values += [0, 0, 0, 0, 0]
    return struct.pack(HG_LOWCMD_FMT, *values), rec


def hand_built_go2_cmd() -> tuple[bytes, np.ndarray]:
    values = [0xFE, 0xEF, 0xFF, 0, 0, 0, 0, 0, 0]
    rec = L.empty_lowcmd("unitree_go")
    for i in range(20):
        mode, q, kp, kd = (1 if i < 12 else 0), (-1.5 if i % 3 == 2 else 0.8), 20.0, 0.5
        values += [mode, q, 0.0, 0.0, kp, kd, 0, 0, 0]
        m = rec["motor_cmd"][i]
        m["mode"], m["q"], m["kp"], m["kd"] = mode, q, kp, kd
    rec["led"][3] = 7
    values += [0, 0, 0, 0] + [0] * 40 + [0, 0, 0, 7] + [0] * 8 + [0, 0] + [0] + [0] + [0]
    return struct.pack(GO_LOWCMD_FMT, *values), rec


def test_crc_bytes_known_vector():
    # CRC-32/MPEG-2 catalogue check value
    assert crc32_bytes(b"123456789") == 0x0376E6E7


@pytest.mark.parametrize("family,fmt", [("unitree_hg", HG_LOWCMD_FMT), ("unitree_go", GO_LOWCMD_FMT)])
def test_struct_sizes_match_c(family, fmt):
    assert struct.calcsize(fmt) == L.C_SIZES[(family, "LowCmd")]
    assert L.LOWCMD_DTYPES[family].itemsize == L.C_SIZES[(family, "LowCmd")]
    assert L.LOWSTATE_DTYPES[family].itemsize == L.C_SIZES[(family, "LowState")]
    assert (L.C_SIZES[(family, "LowCmd")], L.C_SIZES[(family, "LowState")]) == \
        {"unitree_hg": (1004, 2092), "unitree_go": (812, 1180)}[family]


def test_field_offsets_follow_c_alignment():
    hg, go = L.HG_LOWCMD, L.GO_LOWCMD
    assert hg.fields["motor_cmd"][1] == 4  # 2 x uint8 then 2 padding bytes
    assert hg.fields["motor_cmd"][0].base.itemsize == 28  # mode + 3 pad + 5 floats + reserve
    assert hg.fields["crc"][1] == 1000
    assert go.fields["bandwidth"][1] == 20 and go.fields["motor_cmd"][1] == 24
    assert go.fields["motor_cmd"][0].base.itemsize == 36
    assert go.fields["reserve"][1] == 804 and go.fields["crc"][1] == 808  # gpio at 803, pad to 804
    hgs = L.HG_LOWSTATE
    assert hgs.fields["imu_state"][1] == 16 and hgs.fields["motor_state"][1] == 72  # 54-byte IMU padded


@pytest.mark.parametrize("build", [hand_built_g1_cmd, hand_built_go2_cmd])
def test_crc_of_hand_built_lowcmd(build):
    packed, rec = build()
    assert rec.tobytes() == packed, "numpy record bytes differ from the hand-packed C struct"
    expected = reference_crc32_core(words_of(packed))
    assert L.compute_crc(rec) == expected
    assert message_crc(packed) == expected
    L.seal(rec)
    assert int(rec["crc"]) == expected and L.crc_ok(rec)
    assert struct.unpack("<I", rec.tobytes()[-4:])[0] == expected  # stored little-endian at the end


def test_crc_detects_any_single_changed_byte():
    _, rec = hand_built_g1_cmd()
    L.seal(rec)
    raw = bytearray(rec.tobytes())
    for pos in (0, 1, 4, 5, 100, 501, 999):  # headers, motor fields, padding, last covered byte
        bad = bytearray(raw)
        bad[pos] ^= 0x10
        corrupted = np.frombuffer(bytes(bad), dtype=L.HG_LOWCMD).reshape(())
        assert not L.crc_ok(corrupted), f"flip at byte {pos} not detected"
    wrong_crc = bytearray(raw)
    wrong_crc[-1] ^= 1
    assert not L.crc_ok(np.frombuffer(bytes(wrong_crc), dtype=L.HG_LOWCMD).reshape(()))


def test_crc_words_random_single_and_batch_match_reference():
    rng = np.random.default_rng(7)
    batch = rng.integers(0, 2**32, size=(5, 202), dtype=np.uint32)  # go2 LowCmd: 812/4 - 1 words
    expected = [reference_crc32_core(row.tolist()) for row in batch]
    assert crc32_words(batch).tolist() == expected
    assert [crc32_words(row) for row in batch] == expected
    assert crc32_bytes(batch[0].astype(">u4").tobytes()) == expected[0]


def test_crc_rejects_bad_input():
    with pytest.raises(ValueError, match="uint32"):
        crc32_words(np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="multiple of 4"):
        message_crc(b"\x00" * 10)
    with pytest.raises(ValueError, match="unknown Unitree message family"):
        L.empty_lowcmd("unitree_b2")


def test_crc_fast_enough_for_500hz():
    import time

    rec = L.empty_lowstate("unitree_hg")  # the largest message, 2092 bytes
    L.compute_crc(rec)
    t0 = time.perf_counter()
    for _ in range(200):
        L.compute_crc(rec)
    per_call = (time.perf_counter() - t0) / 200
    assert per_call < 1e-3, f"CRC of a G1 LowState took {per_call * 1e3:.2f} ms (budget 2 ms per 500 Hz tick)"
