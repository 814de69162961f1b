//! The `convscope` command-line tool.
fn main() {}
