"""Reports: what carepath counts (``docs`` contract "What carepath counts"), computed
from aggregate figures the store answers; the statistics here are pure functions."""
