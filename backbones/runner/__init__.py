"""What the zoo adds to mmengine's Runner, each under a registered name (nothing is patched): crash-safe
checkpointing, reproducible randomness, Precise BN, a CPU data-parallel wrapper, atomic result dumps, and the
config conveniences and model builder of the tools.
"""
from .checkpoint_hook import AtomicCheckpointHook
from .distributed import CPUDistributedDataParallel
from .dump import AtomicDumpResults
from .hooks import PreciseBNStatsHook, WeightsConsistencyHook
from .seeding import SeedAugmentations, SeedTaggedInfiniteSampler, SeedTaggedSampler, StepSeedHook

__all__ = ["AtomicCheckpointHook", "AtomicDumpResults", "CPUDistributedDataParallel", "PreciseBNStatsHook",
           "SeedAugmentations", "SeedTaggedInfiniteSampler", "SeedTaggedSampler", "StepSeedHook",
           "WeightsConsistencyHook"]
