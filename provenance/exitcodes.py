"""Exit codes of the ``provenance`` command; documented in README and --help."""

#: Every file analysed and none flagged.
OK = 0
#: At least one file flagged: verdict ai-generated or ai-edited, or credentials invalid.
FLAGGED = 1
#: Usage error, or at least one file could not be analysed (wins over FLAGGED).
ERROR = 2
