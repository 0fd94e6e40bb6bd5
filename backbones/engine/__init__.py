"""What the zoo adds to mmengine's training engine, each under a registered name (nothing is patched): checkpoint
I/O (safe loading by every scheme, atomic writes, the resume choice: :mod:`.checkpoint`), runner hooks, seeding,
the CPU data-parallel wrapper and the tools' config conveniences (:mod:`.runner`), optimizer wrappers and
constructors (:mod:`.optim`)."""
from backbones.engine import checkpoint, optim, runner  # noqa: F401  (registers hooks, wrappers, the file backend)
