"""Gate kinds and the verification metrics they use."""

from gates.base import Gate, GateContext, Outcome, Slice, Threshold
from gates.suite import GateSuite

__all__ = ["Gate", "GateContext", "GateSuite", "Outcome", "Slice", "Threshold"]
