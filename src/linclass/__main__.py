import sys

from linclass.cli import main

sys.exit(main())
