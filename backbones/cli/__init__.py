"""What the command-line tools share: running configs as isolated, cached training runs (:mod:`.runs`), the task
tables (:mod:`.tables`), loading a config's model and inputs (:mod:`.loading`), the train / test tools' flags and
runner (:mod:`.common`), and the description of the machine a figure was measured on (:mod:`.machine`)."""
