"""reddplus: REDD+ avoided-deforestation projects from field plots to retired credits.

The package is layered (see README, "Architecture"):

* pure functions per methodological step (``reddplus.stocks``, ``reddplus.accuracy``, ...);
* path-level tools that read and write files (``*.tools`` / ``read_*`` / ``write_*``);
* a thin command line (``reddplus.cli``) and HTTP service (``reddplus.registry``).

The library never prints or exits; it logs to the ``reddplus`` logger, which has a
``NullHandler`` until an application configures logging.
"""

import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = ["__version__"]
