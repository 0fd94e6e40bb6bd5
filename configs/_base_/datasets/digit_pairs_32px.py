# Digit pairs: 32x32 images holding two 8x8 digits of scikit-learn's digits in two of 4x4 cells, labelled with the
# sum of the two digits modulo 10 (lab/study/data.py); a task that needs token mixing (docs/claims.md).
# Build it with:  python tools/data/prepare_digit_pairs.py    (data/digit_pairs, from data/digits)
# The digits' loaders, preprocessing and evaluation; no crop augmentation (a crop could cut a digit off and change
# the label), the images are used as generated.
_base_ = ['./digits_32px.py']
data_root = 'data/digit_pairs'
train_pipeline = [dict(type='SeedAugmentations'), dict(type='LoadImageFromFile'), dict(type='PackInputs')]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]
train_dataloader = dict(dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
