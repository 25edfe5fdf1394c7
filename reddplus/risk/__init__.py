"""Deforestation risk: VT0007 v1.0 benchmark method, alternative models, assessment (see README glossary).

* :mod:`~reddplus.risk.vt0007`: pure functions per VT0007 step (distance, NRT, classes, density, AR, assessment);
* :mod:`~reddplus.risk.localrate`: riskmapjnr's moving-window local deforestation rate;
* :mod:`~reddplus.risk.drivers`: driver rasters (distances to features, slope, roads by opening year) by strips;
* :mod:`~reddplus.risk.models`: alternative models as the config defines them, sample, fit, prediction by blocks;
* :mod:`~reddplus.risk.compare`: benchmark vs a named alternative (VT0007 test), the alternative's validity period;
* :mod:`~reddplus.risk.tools`: path-level streamed tools (:func:`vt0007_benchmark`).
"""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())

#: the readings of the VT0007 steps (``profile=``; see :mod:`reddplus.risk.vt0007`); the first is the default
PROFILES = ("reddplus", "udef-arp")
#: UDef-ARP's suggested maximum number of adjustment-ratio iterations (its GUI's default)
UDEF_ARP_MAX_ITERATIONS = 5
