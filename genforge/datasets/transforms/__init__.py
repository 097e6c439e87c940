"""genforge.datasets.transforms."""
