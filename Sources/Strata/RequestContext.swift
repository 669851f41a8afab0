/// The caller of the request being served, for an adapter that serves many users through one union
/// (a FUSE mount without `default_permissions`): bind it around a request, and every node-API call given
/// no explicit caller checks that caller's rights.
public enum RequestContext {
    @TaskLocal public static var caller: Credentials?
}
