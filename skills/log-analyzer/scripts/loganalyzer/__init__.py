"""The `log-analyzer` skill's code, run by the scripts beside this package (see ../../SKILL.md)."""
