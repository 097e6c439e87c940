"""genforge: config-driven training of GANs and image-restoration models in plain PyTorch."""
__version__ = '0.1.0'
