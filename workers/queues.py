"""Queue names, in the order a worker serves them (earlier names first)."""

SCORING = "scoring"
IMPORTS = "imports"
DEFAULT = "default"

ALL = (SCORING, IMPORTS, DEFAULT)
