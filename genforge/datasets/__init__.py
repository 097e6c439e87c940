"""genforge.datasets."""
