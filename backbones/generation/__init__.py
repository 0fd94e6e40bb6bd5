"""Class-conditional image generation: SAGAN's networks with any token mixer in their attention block, the GAN
model and its two optimizers, an in-memory image-folder dataset, and the sample-quality metric, all registered in
mmengine's root registries (``import backbones`` registers them).

* :mod:`.layers` - spectral normalisation, conditional BatchNorm, :class:`MixerAttention2d` (SAGAN's gated
  attention block, the mixer as a plug-in);
* :mod:`.networks` - ``SAGANGenerator`` and ``SAGANDiscriminator`` (projection), 32x32 images;
* :mod:`.model` - ``ConditionalGAN`` (hinge loss, ``n_disc`` D steps per G step, generator EMA, differentiable
  augmentation, LeCam, auxiliary class losses) and ``GANDataPreprocessor``; :mod:`.optim` -
  ``GANOptimWrapperConstructor``; :mod:`.augment` - ``DiffAugment`` (optionally adaptive) and LeCam's term;
* :mod:`.datasets` - ``ImageFolderTensors``; :mod:`.features` and :mod:`.metrics` - the feature classifier and
  ``GenerationMetric``; :mod:`.sampling` - sample grids as PNG.
"""
from backbones.generation.augment import DiffAugment, lecam_regulariser
from backbones.generation.datasets import ImageFolderTensors
from backbones.generation.features import FeatureCNN, InceptionFeatures, train_feature_classifier
from backbones.generation.layers import ConditionalBatchNorm2d, MixerAttention2d, spectral_norm_all
from backbones.generation.metrics import GenerationMetric, frechet_distance, precision_recall
from backbones.generation.model import ConditionalGAN, GANDataPreprocessor
from backbones.generation.networks import SAGANDiscriminator, SAGANGenerator
from backbones.generation.optim import GANOptimWrapperConstructor

__all__ = ["ConditionalBatchNorm2d", "ConditionalGAN", "DiffAugment", "FeatureCNN", "GANDataPreprocessor",
           "GANOptimWrapperConstructor", "GenerationMetric", "ImageFolderTensors", "InceptionFeatures",
           "MixerAttention2d", "SAGANDiscriminator", "SAGANGenerator", "frechet_distance", "lecam_regulariser",
           "precision_recall", "spectral_norm_all", "train_feature_classifier"]
