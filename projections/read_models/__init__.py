"""The read models themselves: the board, operation status and impact figures."""
