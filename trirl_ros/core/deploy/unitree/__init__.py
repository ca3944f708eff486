"""Unitree low-level interface: LowCmd/LowState layouts of ``unitree_hg`` (G1) and ``unitree_go``
(Go2), their CRC, CycloneDDS types and transport, and the MuJoCo sim robot speaking them.

:mod:`.crc`, :mod:`.layouts` and :mod:`.messages` are numpy only; :mod:`.idl`, :mod:`.cdr`'s users
and :mod:`.dds` need the ``cyclonedds`` binding (``make dds``).
"""
