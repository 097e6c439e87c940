"""genforge.visualization."""
