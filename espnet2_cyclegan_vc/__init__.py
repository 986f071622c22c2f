"""CycleGAN-VC for ESPnet: non-parallel voice conversion on ESPnet's GAN trainer."""

__version__ = "0.1.0"
