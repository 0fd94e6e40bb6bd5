"""What the tools and the lab share above the tasks: a config's model with a checkpoint and its inputs
(:mod:`.loading`), the export specification of every task's model (:mod:`.exporting`), timing and the GEMM rate
(:mod:`.timing`)."""
