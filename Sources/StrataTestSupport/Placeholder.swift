// Placeholder: the test-support library is being written.
enum StrataTestSupportPlaceholder {}
