"""Benchmark 4: autoencoder embeddings on SVHN and STL-10 (protocol section 6).

data (read the published formats into HDF5) -> model (train an autoencoder per loss network, embed) -> probes
(MLP probes score the embeddings); demo writes synthetic data in the real formats.
"""
