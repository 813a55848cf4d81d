"""``mint``, the command line (:mod:`modelmint.cli.main`).

Every command imports this package first, before any library: the libraries' own warnings
and load failures are quieted here, before they load (:mod:`modelmint.cli.quiet`)."""

from modelmint.cli.quiet import quiet_libraries

quiet_libraries()
