"""What the commands compute: training runs (config, experiment), tune, predict, explain, output
checks, and the playground's page and server.

The application layer sits between the library and the command line: it may import any
library module, and no library module imports it (``tests/test_layers.py`` checks).
"""
