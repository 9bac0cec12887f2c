from medganbench.cli import main

raise SystemExit(main())
