# SAGAN for 32x32 grey digits (Zhang et al. 2019): ResNet generator with conditional BatchNorm and projection
# discriminator, spectral normalisation, hinge loss, one attention block at 16x16 in each network whose token
# mixer is the leaf config's choice (attention=None in both: SNGAN). Base width 16 keeps a step near a CPU second.
# Data-efficient training for the 1,438 training images: DiffAugment's translation on every image the
# discriminator sees (real and fake, both steps); LeCam (lecam_weight) and the auxiliary class head (aux_weight)
# are available and off (both trained slower here, docs/claims.md section 4).
attention = dict(mixer='SelfAttention', num_heads=4, resolution=16)
model = dict(
    type='ConditionalGAN',
    generator=dict(type='SAGANGenerator', num_classes=10, out_channels=1, base_width=16, noise_dim=128,
                   attention=attention),
    discriminator=dict(type='SAGANDiscriminator', num_classes=10, in_channels=1, base_width=16,
                       attention=attention),
    n_disc=1,
    ema_momentum=0.01,  # evaluation and sampling use the generator's moving average (half-life ~70 G steps)
    ema_start=500,  # ... a copy of the generator for its first 500 steps
    augment=dict(policy='translation'),
    lecam_weight=0.0,
    channels_last=True,  # oneDNN convolutions: 20-30% less CPU time per iteration (docs/benchmark.md)
    data_preprocessor=dict(type='GANDataPreprocessor'),
)
