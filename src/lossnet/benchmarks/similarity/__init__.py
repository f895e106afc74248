"""Benchmark 1: perceptual similarity on BAPPS (protocol section 3).

data (read BAPPS folders into HDF5) -> cache (one forward pass per architecture, every pair distance) ->
scoring (2AFC, JND per layer) and sensitivity (distortion sensitivity, distances side by side); demo writes
synthetic BAPPS-format data.
"""
