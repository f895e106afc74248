"""Experiments beyond the four benchmarks: the perceptual image mean of seed 003 (:mod:`.image_mean`)."""
