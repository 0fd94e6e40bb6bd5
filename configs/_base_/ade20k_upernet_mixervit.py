# Shared by the ADE20K mixer configs: ViT-UPerNet model, mmseg's ADE20K 512x512 data, 8 GPUs x 2 images,
# fine-tuned from ImageNet weights with layer-wise lr decay (schedules/seg_vit_adamw_160k.py).
_base_ = [
    './models/upernet_mixervit.py',
    './datasets/ade20k_512x512.py',
    './segmentation_runtime.py',
    './schedules/seg_vit_adamw_160k.py',
]
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=2)
val_dataloader = dict(batch_size=1)
test_dataloader = val_dataloader
