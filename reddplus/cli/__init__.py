"""Thin command line over the reddplus library (parse arguments, call a tool, print)."""
