"""Voice-conversion task on ESPnet's GAN trainer.

Generators, discriminators and normalisation layers are ClassChoices, so a
recipe selects them by name: ``--generator cyclegan_vc --generator_conf '{...}'``.
The three models of the family are choices plus model options:
  - CycleGAN-VC: generator cyclegan_vc, discriminator cyclegan_vc;
  - CycleGAN-VC2: generator cyclegan_vc2, discriminator patchgan,
    model_conf two_step_adversarial: true (two more discriminators of the
    same choice and conf are built for the cycled features);
  - MaskCycleGAN-VC: as CycleGAN-VC2 with generator_conf mask_channel: true
    and model_conf fif_max_frames > 0.
"""

import argparse
from pathlib import Path
from typing import Callable, Collection, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
import yaml
from typeguard import typechecked

from espnet2.layers.abs_normalize import AbsNormalize
from espnet2.layers.global_mvn import GlobalMVN
from espnet2.tasks.abs_task import AbsTask, optim_classes, scheduler_classes
from espnet2.train.class_choices import ClassChoices
from espnet2.train.gan_trainer import GANTrainer
from espnet2.utils.get_default_kwargs import get_default_kwargs
from espnet2.utils.nested_dict_action import NestedDictAction

from espnet2_cyclegan_vc.cyclegan.cyclegan import CycleGAN
from espnet2_cyclegan_vc.cyclegan_vc.discriminator import CycleGANVCDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc.generator import CycleGANVCGenerator
from espnet2_cyclegan_vc.cyclegan_vc2.discriminator import PatchGANDiscriminator
from espnet2_cyclegan_vc.cyclegan_vc2.generator import CycleGANVC2Generator
from espnet2_cyclegan_vc.espnet_model import ESPnetCycleGANVCModel
from espnet2_cyclegan_vc.model_io import load_state_dict
from espnet2_cyclegan_vc.schedulers.piecewise_linear_lr import PiecewiseLinearLR
from espnet2_cyclegan_vc.train.progress import TrainingProgress
from espnet2_cyclegan_vc.train.unpaired import FeatsCollateFn, UnpairedSegmentPreprocessor
from espnet2_cyclegan_vc.world import WorldConfig

generator_choices = ClassChoices(
    "generator",
    classes=dict(cyclegan_vc=CycleGANVCGenerator, cyclegan_vc2=CycleGANVC2Generator),
    type_check=torch.nn.Module,
    default="cyclegan_vc",
)
discriminator_choices = ClassChoices(
    "discriminator",
    classes=dict(cyclegan_vc=CycleGANVCDiscriminator, patchgan=PatchGANDiscriminator),
    type_check=torch.nn.Module,
    default="cyclegan_vc",
)
src_normalize_choices = ClassChoices(
    "src_normalize",
    classes=dict(global_mvn=GlobalMVN),
    type_check=AbsNormalize,
    default=None,
    optional=True,
)
trg_normalize_choices = ClassChoices(
    "trg_normalize",
    classes=dict(global_mvn=GlobalMVN),
    type_check=AbsNormalize,
    default=None,
    optional=True,
)

# ESPnet looks --scheduler/--scheduler2 names up in this table (and offers its
# keys as choices), so registering here makes the name usable in any config.
scheduler_classes.setdefault("piecewiselinearlr", PiecewiseLinearLR)

_MODULE_ARGS = (
    "generator_src_to_trg",
    "generator_trg_to_src",
    "discriminator_src",
    "discriminator_trg",
    "src_normalize",
    "trg_normalize",
    "discriminator_src_cycle",
    "discriminator_trg_cycle",
    "cyclegan",
)
# model_conf keys that are ESPnetCycleGANVCModel's; the others are CycleGAN's.
_WRAPPER_ARGS = ("src_logf0_stats_file", "trg_logf0_stats_file")
# Checkpoints written before the networks moved into ESPnetCycleGANVCModel.cyclegan.
_CYCLEGAN_KEYS = ("generator.", "discriminator.", "num_updates")


def _from_one_module_layout(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """A state dict of the model's earlier one-module layout, in today's keys."""
    return {
        f"cyclegan.{key}" if key.startswith(_CYCLEGAN_KEYS) else key: value for key, value in state.items()
    }


# The paper's training setup (Kaneko & Kameoka 2017): batch 1, Adam with
# lr 2e-4 (G) / 1e-4 (D), betas (0.5, 0.999), 2e5 iterations; the rate is
# constant for 1e5 iterations, then decays linearly to 0 at 2e5 and stays
# there however long training is extended (configurable).
PAPER_TRAINER_DEFAULTS = dict(
    batch_size=1,
    batch_type="unsorted",
    max_epoch=200,
    num_iters_per_epoch=1000,
    generator_first=True,
    optim="adam",
    optim_conf=dict(lr=2.0e-4, betas=[0.5, 0.999]),
    scheduler="piecewiselinearlr",
    scheduler_conf=dict(steps=[0, 100000, 200000], lrs=[2.0e-4, 2.0e-4, 0.0]),
    optim2="adam",
    optim2_conf=dict(lr=1.0e-4, betas=[0.5, 0.999]),
    scheduler2="piecewiselinearlr",
    scheduler2_conf=dict(steps=[0, 100000, 200000], lrs=[1.0e-4, 1.0e-4, 0.0]),
    grad_clip=-1.0,
    num_att_plot=0,
    # The discriminator turn reuses the generator outputs, so the generators
    # take no part in it: DistributedDataParallel must allow unused parameters.
    unused_parameters=True,
    best_model_criterion=[["valid", "generator_cycle_loss", "min"]],
    keep_nbest_models=5,
)


class VCTask(AbsTask):
    """Non-parallel voice conversion between two speakers (CycleGAN-VC)."""

    num_optimizers: int = 2
    class_choices_list = [
        generator_choices,
        discriminator_choices,
        src_normalize_choices,
        trg_normalize_choices,
    ]
    trainer = GANTrainer

    @classmethod
    def get_parser(cls):
        parser = super().get_parser()
        parser.set_defaults(**PAPER_TRAINER_DEFAULTS)
        return parser

    @classmethod
    @typechecked
    def add_task_arguments(cls, parser: argparse.ArgumentParser):
        group = parser.add_argument_group(description="Task related")
        # One model_conf for the wrapper's options and the CycleGAN's.
        model_conf = {**get_default_kwargs(CycleGAN), **get_default_kwargs(ESPnetCycleGANVCModel)}
        for name in _MODULE_ARGS:
            model_conf.pop(name, None)
        group.add_argument(
            "--model_conf",
            action=NestedDictAction,
            default=model_conf,
            help="The keyword arguments of CycleGAN (loss weights, identity-loss "
            "schedule, variants, speed options) and of ESPnetCycleGANVCModel "
            "(log-F0 statistics files).",
        )
        group.add_argument(
            "--segment_frames",
            type=int,
            default=128,
            help="Frames of the random segment drawn from each utterance in training.",
        )
        group.add_argument(
            "--world_conf",
            action=NestedDictAction,
            default=WorldConfig().to_dict(),
            help="WORLD analysis settings of the features (kept for conversion).",
        )
        group.add_argument(
            "--feats_dim",
            type=int,
            default=None,
            help="Feature dimension; defaults to world_conf mcep_dim.",
        )
        for class_choices in cls.class_choices_list:
            class_choices.add_arguments(group)

    @classmethod
    @typechecked
    def build_collate_fn(cls, args: argparse.Namespace, train: bool) -> Callable[
        [Collection[Tuple[str, Dict[str, np.ndarray]]]],
        Tuple[List[str], Dict[str, torch.Tensor]],
    ]:
        return FeatsCollateFn()

    @classmethod
    @typechecked
    def build_preprocess_fn(
        cls, args: argparse.Namespace, train: bool
    ) -> Optional[Callable[[str, Dict[str, np.ndarray]], Dict[str, np.ndarray]]]:
        target_pool = None
        for path, name, _ in getattr(args, "train_data_path_and_name_and_type", None) or []:
            if name == "trg_feats":
                target_pool = path
        return UnpairedSegmentPreprocessor(
            train=train and not args.collect_stats,
            segment_frames=args.segment_frames,
            target_pool_scp=target_pool,
        )

    @classmethod
    def required_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        # Both names are needed to train, but --collect_stats runs one speaker
        # at a time; the model names a missing one clearly.
        return ()

    @classmethod
    def optional_data_names(cls, train: bool = True, inference: bool = False) -> Tuple[str, ...]:
        return ("src_feats", "trg_feats")

    @classmethod
    @typechecked
    def build_model(cls, args: argparse.Namespace) -> ESPnetCycleGANVCModel:
        world = WorldConfig.from_dict(args.world_conf)
        args.world_conf = world.to_dict()
        feats_dim = args.feats_dim if args.feats_dim is not None else world.mcep_dim

        def build(choices, conf):
            conf = dict(conf)
            conf.setdefault("in_channels", feats_dim)
            return choices.get_class(getattr(args, choices.name))(**conf)

        normalizers = {}
        for choices in (src_normalize_choices, trg_normalize_choices):
            name = getattr(args, choices.name)
            conf = getattr(args, f"{choices.name}_conf")
            normalizers[choices.name] = (
                None if name is None else choices.get_class(name)(**conf)
            )
        cycle_discriminators = {}
        if args.model_conf.get("two_step_adversarial", False):
            cycle_discriminators = {
                f"discriminator_{side}_cycle": build(discriminator_choices, args.discriminator_conf)
                for side in ("src", "trg")
            }
        conf = dict(args.model_conf)
        wrapper_conf = {name: conf.pop(name) for name in _WRAPPER_ARGS if name in conf}
        cyclegan = CycleGAN(
            generator_src_to_trg=build(generator_choices, args.generator_conf),
            generator_trg_to_src=build(generator_choices, args.generator_conf),
            discriminator_src=build(discriminator_choices, args.discriminator_conf),
            discriminator_trg=build(discriminator_choices, args.discriminator_conf),
            **cycle_discriminators,
            **conf,
        )
        model = ESPnetCycleGANVCModel(
            cyclegan,
            src_normalize=normalizers["src_normalize"],
            trg_normalize=normalizers["trg_normalize"],
            **wrapper_conf,
        )
        model.progress = TrainingProgress.from_args(args)
        return model

    @classmethod
    @typechecked
    def build_model_from_file(
        cls,
        config_file: Optional[Union[Path, str]] = None,
        model_file: Optional[Union[Path, str]] = None,
        device: str = "cpu",
    ) -> Tuple[ESPnetCycleGANVCModel, argparse.Namespace]:
        """Build a model from its config.yaml and model file, executing nothing from either.

        ESPnet's version unpickles the model file with ``weights_only=False``
        (a shared model could run code) and loads it non-strictly; here the
        config is read with ``yaml.safe_load``, the model file with
        :func:`espnet2_cyclegan_vc.model_io.load_state_dict`, and every
        parameter and buffer must match the config's model.

        Args:
            config_file: config.yaml of the training; default: beside model_file.
            model_file: model parameters (*.pth); None keeps the initial ones.
            device: torch device.

        Returns:
            (model, args): the model on device and the config as a Namespace.
        """
        if config_file is None:
            if model_file is None:
                raise ValueError("build_model_from_file needs config_file or model_file")
            config_file = Path(model_file).parent / "config.yaml"
        with open(config_file, encoding="utf-8") as f:
            conf = yaml.safe_load(f)
        if not isinstance(conf, dict):
            raise ValueError(f"{config_file}: not a training config (a YAML mapping)")
        args = argparse.Namespace(**conf)
        model = cls.build_model(args)
        if model_file is not None:
            state = _from_one_module_layout(load_state_dict(model_file, map_location="cpu"))
            model.load_state_dict(state, strict=True)
        return model.to(device), args

    @classmethod
    def build_optimizers(
        cls, args: argparse.Namespace, model: ESPnetCycleGANVCModel
    ) -> List[torch.optim.Optimizer]:
        optimizers = []
        for suffix, module in (("", model.cyclegan.generator), ("2", model.cyclegan.discriminator)):
            name = getattr(args, f"optim{suffix}")
            optim_class = optim_classes.get(name)
            if optim_class is None:
                raise ValueError(f"--optim{suffix} must be one of {list(optim_classes)}: {name}")
            optimizers.append(optim_class(module.parameters(), **getattr(args, f"optim{suffix}_conf")))
        return optimizers
