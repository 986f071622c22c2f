"""espnet2-cyclegan-vc: CycleGAN-VC voice conversion as an ESPnet plugin."""

from setuptools import find_packages, setup

# espnet 202511 pins setuptools<74 and imports torchaudio through AbsTask;
# torchaudio's native library must match torch exactly, and newer torch does
# not install beside this espnet, so the pair is pinned.
install_requires = [
    "espnet==202511",
    "torch==2.11.0",
    "torchaudio==2.11.0",
    "setuptools<74",
    "pyworld>=0.3.4",
    "kaldiio>=2.18",
    "soundfile>=0.12",
    "numpy",
    "scipy",
    "typeguard",
    "PyYAML",
    "tensorboard",
    "matplotlib",
    "espeakng-loader",
]

setup(
    name="espnet2-cyclegan-vc",
    version="0.1.0",
    description="CycleGAN-VC (non-parallel voice conversion) for ESPnet's GAN trainer",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["espnet2_cyclegan_vc", "espnet2_cyclegan_vc.*"]),
    python_requires=">=3.10,<3.12",
    install_requires=install_requires,
    extras_require={"test": ["pytest"]},
    license="Apache-2.0",
)
