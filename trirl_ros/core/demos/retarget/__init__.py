"""Retargeting human motion onto robots (BVH -> G1 by per-frame inverse kinematics)."""
