"""Replaying trained policies and rendering them offscreen (MuJoCo renderer, EGL or OSMesa)."""
