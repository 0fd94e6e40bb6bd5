"""Analysis of trained models from outside them (attention maps through forward hooks); the shipped analysis tools
(``tools/analysis/``) and the lab's studies use it."""
