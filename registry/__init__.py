"""gated-registry: a model registry whose aliases move only after a family's gate suite passes."""

__version__ = "0.1.0"
