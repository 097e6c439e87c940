"""genforge.optim."""
