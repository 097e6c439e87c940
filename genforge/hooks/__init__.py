"""genforge.hooks."""
