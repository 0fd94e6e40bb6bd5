# GAN schedule: Adam with betas (0, 0.9) for both networks (SAGAN), constant learning rates with the generator's
# lower (two time-scale update rule, Heusel et al. 2017), one D step per G step (model.n_disc), 1k iterations.
# The rates are 2.5x SAGAN's 2e-4 / 4e-4: at those the digits' classes were not learned in 1,000 iterations
# (docs/claims.md section 4).
_base_ = ['../generation_runtime.py']
optim_wrapper = dict(
    constructor='GANOptimWrapperConstructor',
    generator=dict(optimizer=dict(type='Adam', lr=5e-4, betas=(0.0, 0.9))),
    discriminator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.0, 0.9))),
)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
