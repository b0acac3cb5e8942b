"""adrs: AI-Driven Research for Systems.

An evolution loop asks a proposer (an LLM or the built-in offline mutator) to rewrite a candidate
program, runs every candidate in a sandbox against a trusted evaluator and keeps a lineage database.
Importing this package is cheap: ray and litellm are imported only where they are used.
"""

__version__ = "0.1.0"
