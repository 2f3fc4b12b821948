"""The one shape of a required-result check, shared by every system's report.

A :class:`Check` is measured, never asserted: its figures come from a run's results files and
its threshold from the run's config, and the report prints each as one PASS/FAIL line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Check:
    """One required result.

    Attributes:
        name: a stable identifier (``prestored_time_le_third_of_online``).
        passed: whether the measured figures meet the threshold.
        measured: the figures the verdict is computed from (name → value).
        threshold: the config value the figures are held to (None when the claim is a
            comparison between methods, e.g. ``a > b``).
        detail: the sentence the report prints after the verdict.
    """

    name: str
    passed: bool
    measured: Mapping[str, Any] = field(default_factory=dict)
    threshold: float | None = None
    detail: str = ""

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def line(self) -> str:
        """The report's bullet: ``**PASS** name: detail``."""
        return f"**{self.verdict}** {self.name}: {self.detail}"

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.name, "pass": self.passed, "measured": dict(self.measured),
                "threshold": self.threshold, "detail": self.detail}


#: the heading of every report's checks. A check compares figures of one training seed (or seed
#: means, with ``runs.extra_seeds``) without a confidence interval, so its PASS/FAIL is a smoke
#: result that the run reproduces, not a verdict between methods (that needs a seed mean with a
#: 95% interval and the per-seed values).
REQUIRED_RESULTS = ("Required results (measured, no confidence interval: smoke checks, "
                    "not verdicts)")


def check_lines(checks: Iterable[Check], empty: str = "(not enough methods were run to check)"
                ) -> list[str]:
    """Report bullets for ``checks`` (one line each), or ``[empty]`` when there are none."""
    return [c.line() for c in checks] or [empty]


def verdicts(checks: Iterable[Check]) -> dict[str, str]:
    """``{name: "PASS" | "FAIL"}``: the run summary the CLI prints."""
    return {c.name: c.verdict for c in checks}
