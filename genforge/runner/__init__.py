"""genforge.runner."""
