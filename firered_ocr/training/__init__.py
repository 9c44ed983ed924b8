"""Training stages: SFT (`sft.py`) and GRPO (`grpo*.py`) on prepared datasets (`data.py`), with shared
observability (`metrics_log.py`) and validation with the project's scorer (`validation.py`)."""
