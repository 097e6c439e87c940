"""genforge.structures."""
