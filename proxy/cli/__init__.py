"""The `pixelgate` command (`main`), one module per command beside it."""
