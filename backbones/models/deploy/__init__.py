"""The deploy foundation the models stand on: the inference-only modules every deploy form is built from
(:mod:`.base`) and the exact algebraic folds of weights (:mod:`.fold`). Each model's own inference form lives in its
file (``to_deploy()`` / ``deploy_branch()``); the pipeline that converts whole task models - conversion, precision,
calibration, the test hook, compilation and export - is :mod:`backbones.deploy`, above the tasks."""
