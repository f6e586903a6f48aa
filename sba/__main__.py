from sba.cli import main

raise SystemExit(main())
