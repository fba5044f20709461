"""``ghostpen eval``: how much typing the suggestions save, on real prose, headless.

A simulated writer types a text through the product's own suggestion policy
(:mod:`app.core.suggestion_policy`) with a simulated clock and the real engine, and
through two baselines, and the figures (keystrokes saved, acceptance, junk, latency)
come out in one table. See docs/quality.md.
"""
