"""Benchmark 2: super-resolution x4 and x8 trained with each loss network, scored on Set5, Set14 and BSD100
(protocol section 4; Johnson et al. 2016).

Modules: :mod:`.data` (COCO / test-set readers and HDF5 preparation), :mod:`.remote_zip` (range reads of a remote
zip), :mod:`.degradation`, :mod:`.model` (the transformation network), :mod:`.train`, :mod:`.metrics`,
:mod:`.evaluate`, :mod:`.demo` (offline stand-in data), :mod:`.figure` (example outputs).
"""
