"""The spectators' pages: public leaderboards, live, and a big-screen mode for the venue.

No login. Pages render the current snapshots (:func:`contest.services.leaderboards.read_board`,
never a ranking query) and ``static/js/board.js`` keeps them live from the stream API.
"""

from contest.boards.views import bp

__all__ = ["bp"]
