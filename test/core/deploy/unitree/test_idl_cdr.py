"""CycloneDDS IDL types and the fast CDR codec, checked against the binding's own serializer."""

from __future__ import annotations

import numpy as np
import pytest

from .conftest import require_cyclonedds

require_cyclonedds()

from trirl_ros.core.deploy.unitree import idl, layouts as L  # noqa: E402
from trirl_ros.core.deploy.unitree.cdr import CdrCodec  # noqa: E402

DTYPES = [L.HG_LOWCMD, L.HG_LOWSTATE, L.GO_LOWCMD, L.GO_LOWSTATE]


def test_wire_type_names():
    assert idl.HgLowCmd.__idl__.idl_transformed_typename == "unitree_hg::msg::dds_::LowCmd_"
    assert idl.HgLowState.__idl__.idl_transformed_typename == "unitree_hg::msg::dds_::LowState_"
    assert idl.GoLowCmd.__idl__.idl_transformed_typename == "unitree_go::msg::dds_::LowCmd_"
    assert idl.GoLowState.__idl__.idl_transformed_typename == "unitree_go::msg::dds_::LowState_"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d.itemsize))
def test_idl_fields_match_layout(dtype):
    obj = idl.from_record(np.zeros((), dtype=dtype))
    assert list(type(obj).__dataclass_fields__) == list(dtype.names)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: str(d.itemsize))
def test_codec_is_byte_exact_with_cyclonedds(dtype):
    codec = CdrCodec(dtype)
    for seed in range(3):
        rec = L.random_record(dtype, seed)
        obj = idl.from_record(rec)
        reference = obj.serialize()
        assert codec.encode(rec) == reference
        assert codec.decode(reference).tobytes() == rec.tobytes()
        assert idl.to_record(type(obj).deserialize(reference)).tobytes() == rec.tobytes()


def test_codec_rejects_foreign_encodings():
    codec = CdrCodec(L.GO_LOWCMD)
    good = codec.encode(L.empty_lowcmd("unitree_go"))
    with pytest.raises(ValueError, match="too short"):
        codec.decode(good[:100])
    with pytest.raises(ValueError, match="unsupported CDR encapsulation"):
        codec.decode(b"\x00\x07" + good[2:])  # XCDR2
    with pytest.raises(ValueError, match="does not match"):
        codec.encode(L.empty_lowstate("unitree_go"))
