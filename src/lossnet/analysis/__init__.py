"""The analysis of a run's scores: rankings (Table III), tables (Table IV, correlations, agreement, recommend),
figures and the HTML report. Works on any scores table in the schema of :mod:`lossnet.benchmarks.scores`."""
