"""One module per subcommand; each registers itself with `cnncalc.cli.command`."""
