"""Human evaluation of bots, headless: studies (topics, threads, consent, questions, limits),
ratings, agreement statistics, reports and exports (docs/evaluation.md).

The server's pages (workbench/services/evaluation/), the TUI's screens and the CLI's
``workbench eval`` commands all work through :class:`~workbench.evaluation.study.Study`;
accounts, threads and ratings live in the store (``Store.study``).
"""

from __future__ import annotations

from workbench.evaluation.study import Study, StudyError

__all__ = ["Study", "StudyError"]
