# Runtime shared by every detection config of the zoo: mmdet's scope and visualizer plus the zoo's modules
# (MixerViT, SimpleFeaturePyramid, the atomic checkpoint and step-seed hooks); iteration-based. The hooks live in
# the schedule files (as the segmentation configs keep them), so mmdet's default_runtime.py is not a base here.
default_scope = 'mmdet'
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)
env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='gloo'),
)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='DetLocalVisualizer', vis_backends=vis_backends, name='visualizer')
log_processor = dict(type='LogProcessor', window_size=50, by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
