"""Hushword firmware: on-device wake word and commands; audio leaves only through the gate."""

VERSION = "0.1.0"
