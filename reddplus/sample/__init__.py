"""The built-in GENERATED sample project (no downloads): see :mod:`reddplus.sample.landscape`."""

from reddplus.sample.landscape import (HAZARD_COEFFICIENTS, PROJECT_AREA_HA, STRATA, SampleLandscape,
                                       generate_sample_landscape)

__all__ = ["HAZARD_COEFFICIENTS", "PROJECT_AREA_HA", "STRATA", "SampleLandscape", "generate_sample_landscape"]
