"""Configs as cached, isolated training runs (:mod:`.runs`, verified results: :mod:`.run_cache`), the task tables
(:mod:`.tables`) and their reports (:mod:`.report`)."""
