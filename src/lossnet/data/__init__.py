"""Getting data: checksummed resumable downloads and safe extraction (:mod:`.download`), and the synthetic
images every offline demo generator draws from (:mod:`.synthetic`)."""
