"""Logger, Tracer and Metrics, configured once; ``observed`` wraps a Lambda entry point with all three.

Nothing here logs an event, a key or a contact's fields: log lines carry ids and outcomes only.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.shared.functions import strtobool

logger = Logger()
# A Tracer loads the X-Ray SDK even when tracing is off (about 140 ms of a cold start, most of it
# the SDK making a client for its sampling rules), so there is none unless tracing is on.
TRACED = not strtobool(os.environ.get("POWERTOOLS_TRACE_DISABLED", "false"))
tracer = Tracer(patch_modules=("botocore",)) if TRACED else None
metrics = Metrics()
# Reads and the authorizer emit no metric; that is expected, not worth a warning per container.
warnings.filterwarnings("ignore", message="No application metrics to publish")

Handler = Callable[[dict, Any], Any]


def count(name: str, value: int = 1) -> None:
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


def observed(handler: Handler) -> Handler:
    """Correlation id from the API Gateway request id; responses and errors stay out of traces."""

    traced = tracer.capture_lambda_handler(handler, capture_response=False, capture_error=False) if tracer else handler

    @metrics.log_metrics
    @logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False)
    def lambda_handler(event: dict, context: Any) -> Any:
        return traced(event, context)

    return lambda_handler
