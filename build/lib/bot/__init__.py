"""Chat side of Gridline: channel adapters, the dispatcher, replies and outbound text."""
