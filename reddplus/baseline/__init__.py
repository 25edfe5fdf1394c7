"""Baseline: jurisdictional expected deforestation (:mod:`~reddplus.baseline.rate`), allocation of it to
the project and leakage belt (:mod:`~reddplus.baseline.allocation`, VT0007 section 6) and planned-road
scenarios (:mod:`~reddplus.baseline.scenario`, VT0007 section 5.4)."""
