import sys

from pls_client.cli import main

sys.exit(main())
