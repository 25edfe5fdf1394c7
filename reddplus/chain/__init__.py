"""The end-to-end crediting run: plots and maps -> net credits per vintage, with a report.

* :class:`~reddplus.chain.core.CreditingChain` composes the steps; entry points
  :meth:`~CreditingChain.run` (from a project TOML), :meth:`~CreditingChain.run_from_stocks` (a
  per-stratum stock table instead of plots) and :meth:`~CreditingChain.run_from_activity` (given
  activity data); :func:`run_project` (``reddplus run``) and :func:`run_demo` (``reddplus demo``).
* :mod:`~reddplus.chain.inputs`: :class:`RunInputs`, what every step reads, checked once.
* :mod:`~reddplus.chain.steps`: one function per step, each returning a frozen result.
* :mod:`~reddplus.chain.results`: the step results and :class:`CreditingResults`, which the
  report renders and nothing else.

Adding a step: write its function in ``steps.py`` (typed inputs, one frozen result defined in
``results.py`` with a ``to_dict()``), add a field to :class:`CreditingResults`, call it from
:meth:`CreditingChain.compute`, render it in :mod:`reddplus.report.crediting`, and test it alone in
``tests/chain/test_steps.py``.
"""

from reddplus.chain.core import CreditingChain, read_activity_table, read_stock_table, run_demo, run_project
from reddplus.chain.inputs import RunInputs, RunPeriods, prepare_inputs
from reddplus.chain.results import CreditingResults

__all__ = ["CreditingChain", "CreditingResults", "RunInputs", "RunPeriods", "prepare_inputs", "read_activity_table",
           "read_stock_table", "run_demo", "run_project"]
