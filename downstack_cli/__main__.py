from downstack_cli.main import main

raise SystemExit(main())
