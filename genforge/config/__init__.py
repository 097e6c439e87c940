"""genforge.config."""
