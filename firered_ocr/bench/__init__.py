"""Quality benchmarks that train and score models (`firered-ocr bench …`); speed benchmarks live in benchmarks/.

`methods`: which RL method lowers structural hallucination most, from one shared SFT checkpoint, each arm
under the same wall-time budget, paired seeds (docs/methods-comparison.md).
"""
