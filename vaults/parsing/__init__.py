"""Document parsing that cannot take the service down.

`extraction` reads text from each format (and `ocr` scanned pages); `archive` checks ZIP-based
documents for bombs; `worker` is the child process that runs extraction under memory and time
limits; `bounded` is the host side that starts it. Only `bounded` imports Django: this package
and the worker must stay importable without it.
"""
