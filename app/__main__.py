"""`python -m app [studio options]` starts the studio; `python -m app export-static OUT_DIR` writes the
static page."""

import sys

if sys.argv[1:2] == ["export-static"]:
    from app.static import main

    main(sys.argv[2:])
else:
    from app.server import main

    main()
