"""vigil's engine: policy language, evaluation, promise actuators, state, daemons, trust.

Headless by contract: nothing under ``engine`` imports Textual or Rich.
"""

__version__ = "0.1.0"
