"""Page checks: Markdown block parsing, per-page analysis, repetition loops, tag closure, text accuracy,
truncation and the structural-hallucination findings.
"""
