"""The suites' names, in the order they are listed. Naming them loads nothing, so a
command's help can list them; :mod:`modelmint.evaluation.suites` holds the suites
themselves, in this order."""

SUITE_NAMES = ("perplexity", "classification", "generation", "custom")
