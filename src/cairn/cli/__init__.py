"""The `cairn` command-line interface: click groups that parse input, call the client and render output."""
