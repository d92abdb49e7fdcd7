"""Fuzzing one OpenAPI operation with schemathesis and counting what it finds.

The number of examples per operation and mode comes from ``CONTEST_FUZZ_EXAMPLES`` (a short run by
default; ``make fuzz`` asks for a long one).
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import hypothesis
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("CONTEST_FUZZ_EXAMPLES", "15"))


CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


@dataclass
class Tally:
    operations: set[str] = field(default_factory=set)
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


def run_operation(
    operation: Any,
    mode: schemathesis.GenerationMode,
    name: str,
    auth: tuple[dict[str, str], dict[str, str]],
    ids: dict[str, int],
    tally: Tally,
) -> None:
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode), known=st.booleans())
    def examples(case: Any, known: bool) -> None:
        if known and case.path_parameters:  # most made-up ids are 404: use real ones half the time
            for key, value in ids.items():
                if key in case.path_parameters:
                    case.path_parameters[key] = value
        response = case.call(headers=auth[0], cookies=auth[1])
        tally.requests += 1
        tally.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as failure:  # reported; the run goes on
            line = f"{name} {case.method} {case.formatted_path} → {response.status_code}: "
            text = str(failure).strip().splitlines()
            line += " | ".join(text[:6])
            if response.status_code >= 500:
                tally.server_errors.append(line)
            else:
                tally.violations.append(line)

    try:
        examples()
    except hypothesis.errors.Unsatisfiable:  # nothing to negate (no parameters, no body)
        assert mode is schemathesis.GenerationMode.NEGATIVE, name
