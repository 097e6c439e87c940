"""Every 1.x type name the seed documents (MMGeneration/MMagic/MMEngine/MMPretrain tutorials) use
resolves in a genforge registry, including names MMagic later renamed."""
import pytest

import genforge.datasets  # noqa: F401  (importing registers)
import genforge.evaluation  # noqa: F401
import genforge.hooks  # noqa: F401
import genforge.models  # noqa: F401
import genforge.optim  # noqa: F401
import genforge.runner  # noqa: F401
import genforge.visualization  # noqa: F401
from genforge import registry

SEED_NAMES = {
    'MODELS': ['DCGAN', 'DCGANGenerator', 'DCGANDiscriminator', 'BigGAN', 'BigGANGenerator',
               'BigGANDiscriminator', 'GANDataPreprocessor', 'DataPreprocessor', 'GANLoss',
               'SRCNNNet', 'BaseEditModel', 'L1Loss', 'ImageClassifier', 'ResNet_CIFAR',
               'GlobalAveragePooling', 'LinearClsHead', 'VisionTransformerClsHead', 'BN', 'ReLU',
               'Tanh', 'ConvTranspose2d', 'BaseSelfSupvisor'],
    'TRANSFORMS': ['LoadImageFromFile', 'PackGenInputs', 'ImageToTensor', 'Flip', 'PackInputs'],
    'HOOKS': ['LoggerHook', 'CheckpointHook', 'GenVisualizationHook', 'GenIterTimerHook'],
    'LOOPS': ['GenValLoop', 'GenTestLoop', 'IterBasedTrainLoop', 'EpochBasedTrainLoop'],
    'DATA_SAMPLERS': ['DefaultSampler', 'InfiniteSampler'],
    'OPTIMIZERS': ['Adam'],
    'OPTIM_WRAPPERS': ['AmpOptimWrapper', 'OptimWrapper'],
    'OPTIM_WRAPPER_CONSTRUCTORS': ['GenOptimWrapperConstructor'],
    'PARAM_SCHEDULERS': ['LinearLrInterval'],
    'METRICS': ['FrechetInceptionDistance', 'InceptionScore', 'FID', 'IS'],
    'EVALUATOR': ['GenEvaluator', 'Evaluator'],
    'VISUALIZERS': ['GenVisualizer', 'Visualizer'],
    'VISBACKENDS': ['GenVisBackend', 'VisBackend', 'LocalVisBackend'],
    'MODEL_WRAPPERS': ['MMSeparateDistributedDataParallel', 'MMDistributedDataParallel'],
    'WEIGHT_INITIALIZERS': ['ortho'],
}

CASES = [(reg, name) for reg, names in SEED_NAMES.items() for name in names]


@pytest.mark.parametrize('reg_name, type_name', CASES)
def test_seed_type_name_resolves(reg_name, type_name):
    reg = getattr(registry, reg_name)
    obj = reg.get(type_name)
    assert obj is not None, f'{type_name} not in {reg_name}'
    # scoped spellings from real configs resolve to the same object
    for scope in ('mmagic', 'mmgen', 'mmengine'):
        assert reg.get(f'{scope}.{type_name}') is obj
