import sys

from dualdeploy.cli import main

sys.exit(main())
