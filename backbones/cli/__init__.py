"""The tools' implementations, one module per console command (their flags and dispatch: :mod:`backbones_cli`), and
what they share: loading a config's model and inputs (:mod:`.loading`), the train / test tools' runner
(:mod:`.common`), the description of the machine a figure was measured on (:mod:`.machine`) and the allocator
(:mod:`.allocator`)."""
