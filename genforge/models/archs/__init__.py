"""genforge.models.archs: one file per family; each module lists its names in __all__."""
