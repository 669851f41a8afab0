/// The caller of the request being served, for an adapter that serves many users through one union
/// (a FUSE mount without `default_permissions`): bind it around a request, and every node-API call given
/// no explicit caller checks that caller's rights.
public enum RequestContext {
    @TaskLocal public static var caller: Credentials?
    /// Whether the umask in force is the caller's (an adapter that applies each caller's umask to its
    /// creations, as a FUSE server with `FUSE_DONT_MASK` does): the bits it takes from a new object's
    /// mode stay taken, where the engine otherwise puts back what the process umask took.
    @TaskLocal public static var umaskIsCallers = false
}
