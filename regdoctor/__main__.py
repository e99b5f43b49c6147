from regdoctor.cli.main import main

raise SystemExit(main())
