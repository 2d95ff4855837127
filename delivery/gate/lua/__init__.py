"""Lua scripts of the admission gate, shipped as package data (read with importlib.resources)."""
