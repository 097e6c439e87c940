"""genforge.evaluation."""
