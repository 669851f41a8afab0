import Glibc
import StrataFUSE

// The serving process of `strata mount` (see `ServeCommand`).
exit(ServeCommand.run(Array(CommandLine.arguments.dropFirst())))
