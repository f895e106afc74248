"""Benchmark 3: road delineation on the Massachusetts Roads Dataset (protocol section 5, Mosinska et al. 2018).

- :mod:`.data`: parse MRD's ``index.html`` listings, download every tile (resumable, checksummed in a manifest,
  checked to be a readable TIFF) and prepare the tiles into one HDF5 file.
- :mod:`.model`: the original code's pix2pix-style U-Net, applied K times to the image and its previous prediction.
- :mod:`.train`: the K-weighted BCE + mu x perceptual loss on random 224 crops, through :func:`lossnet.training.fit`.
- :mod:`.evaluation`: full-resolution prediction by blended overlapping windows, and the scores rows.
- :mod:`.metrics`: the tolerant skeleton metrics (correctness, completeness, quality) and scoring a folder of PNGs.
- :mod:`.demo`: MRD-format tiles with roads drawn on bundled photos, for the offline demo and the tests.
"""
