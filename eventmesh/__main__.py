import sys

from eventmesh.cli import main

sys.exit(main())
