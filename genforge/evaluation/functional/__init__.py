"""genforge.evaluation.functional."""
