"""The benchmarks' worker process: ``worker.run`` with the yardstick workflows added.

    CAREPATH_... python -m bench.worker

Started by ``bench.stack`` with the settings of the stack it runs in, so carepath's
journey workflow and the yardsticks share one worker, as they share one server.
"""

from __future__ import annotations

import asyncio
import logging

from bench.handwritten import HandWrittenJourney, Trivial
from worker import run

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(run(extra_workflows=[HandWrittenJourney, Trivial]))
