"""Operations: the shop's machinery as staff see it: system health, the background jobs (retry, discard,
retention)."""
