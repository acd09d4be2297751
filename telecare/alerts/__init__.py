"""Alert lifecycle: raise, join, clear, acknowledge, resolve."""
