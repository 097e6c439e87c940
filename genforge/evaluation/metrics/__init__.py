"""genforge.evaluation.metrics."""
