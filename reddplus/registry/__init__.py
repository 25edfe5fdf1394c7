"""Credit registry: issue, transfer, retire and cancel credits in serial-number blocks.

Layers (STYLE.md, example 11):

* :mod:`reddplus.registry.serials` and :mod:`reddplus.registry.ledger` — pure functions
  (serial arithmetic and format, journal hashing, replay, invariant checks); no database.
* :mod:`reddplus.registry.models` (SQLAlchemy 2), :mod:`reddplus.registry.db` (engines,
  migrations, unit of work) and :mod:`reddplus.registry.service` — one use case = one transaction.
* :mod:`reddplus.registry.api` — FastAPI routes, dependencies (auth, idempotency) and the
  server-rendered dashboard; domain errors become HTTP only in one exception handler.

Quantities are integer tonnes of CO2e (one credit = one serial = 1 tCO2e); never floats.

Serial format (Verra-like; see :mod:`reddplus.registry.serials`)::

    {issuance}-{first}-{last}-{program}-{unit_type}-{country}-{project}-{vintage_start}-{vintage_end}
    e.g.  12-1000001-1000900-RDDP-VCU-BR-7-01012020-31122020
"""
