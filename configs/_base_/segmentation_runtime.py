# Runtime shared by every segmentation config of the zoo: mmseg's own runtime (mmseg scope, SegLocalVisualizer,
# iteration-based logging) plus the zoo's modules (MixerViT, EAHead, the checked scene datasets).
_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['backbones'], allow_failed_imports=False)
