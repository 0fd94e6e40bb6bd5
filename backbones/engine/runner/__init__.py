"""What the zoo adds to mmengine's Runner, each under a registered name (nothing is patched): crash-safe
checkpointing, one writer per work dir, reproducible randomness, Precise BN, a CPU data-parallel wrapper, atomic
result dumps, and the config conveniences and model builder of the tools.
"""
from backbones.engine.runner.checkpoint_hook import AtomicCheckpointHook
from backbones.engine.runner.distributed import CPUDistributedDataParallel, CPUSeparateDistributedDataParallel
from backbones.engine.runner.dump import AtomicDumpResults
from backbones.engine.runner.hooks import (
           ClassCountCheckHook,
           ClassCountError,
           FiniteWeightsCheckHook,
           PreciseBNStatsHook,
           WeightsConsistencyHook,
)
from backbones.engine.runner.seeding import (
           SeedAugmentations,
           SeedTaggedInfiniteSampler,
           SeedTaggedSampler,
           StepSeedHook,
)
from backbones.engine.runner.work_dir_lock import WorkDirBusyError, WorkDirLock, WorkDirLockHook

__all__ = ["AtomicCheckpointHook", "AtomicDumpResults", "CPUDistributedDataParallel",
           "CPUSeparateDistributedDataParallel", "ClassCountCheckHook", "ClassCountError", "FiniteWeightsCheckHook",
           "PreciseBNStatsHook", "SeedAugmentations", "SeedTaggedInfiniteSampler", "SeedTaggedSampler", "StepSeedHook",
           "WeightsConsistencyHook", "WorkDirBusyError", "WorkDirLock", "WorkDirLockHook"]
